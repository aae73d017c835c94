import { createDataFrame, FieldType } from '@grafana/data';

import { formatOffset, framesToMarkers, parseTime, traceExploreUrl } from './markers';
import { fitScale } from './player';
import { firstFieldValue, variableValue } from './api';

describe('markers', () => {
  it('converts the markers frame, sorted by time', () => {
    const frame = createDataFrame({
      name: 'markers',
      fields: [
        { name: 'time', type: FieldType.time, values: [2000, 1000] },
        { name: 'offset_ms', type: FieldType.number, values: [1000, 0] },
        { name: 'kind', type: FieldType.string, values: ['error', 'click'] },
        { name: 'name', type: FieldType.string, values: ['TypeError', 'button'] },
        { name: 'url', type: FieldType.string, values: ['', ''] },
        { name: 'detail', type: FieldType.string, values: ['stack', ''] },
        { name: 'trace_id', type: FieldType.string, values: ['t1', ''] },
        { name: 'span_id', type: FieldType.string, values: ['s1', ''] },
      ],
    });
    const m = framesToMarkers([frame]);
    expect(m.map((x) => x.kind)).toEqual(['click', 'error']);
    expect(m[1]).toEqual({
      time: 2000,
      offsetMs: 1000,
      kind: 'error',
      name: 'TypeError',
      url: '',
      detail: 'stack',
      traceId: 't1',
      spanId: 's1',
    });
    expect(framesToMarkers([createDataFrame({ fields: [] })])).toEqual([]);
  });

  it('parses replay times', () => {
    expect(parseTime('1700000000123')).toBe(1700000000123);
    expect(parseTime('1700000000')).toBe(1700000000000);
    expect(parseTime('2023-11-14T22:13:20.000Z')).toBe(1700000000000);
    expect(parseTime('$replay_time')).toBeUndefined();
    expect(parseTime('')).toBeUndefined();
    expect(parseTime('garbage')).toBeUndefined();
  });

  it('formats offsets and builds Explore links', () => {
    expect(formatOffset(0)).toBe('0:00');
    expect(formatOffset(61_000)).toBe('1:01');
    expect(formatOffset(3_661_000)).toBe('1:01:01');
    const url = traceExploreUrl('tempo', 'abc', { from: 1, to: 2 });
    expect(url.startsWith('/explore?')).toBe(true);
    const panes = JSON.parse(new URLSearchParams(url.split('?')[1]).get('panes')!);
    expect(panes.replay.datasource).toBe('tempo');
    expect(panes.replay.queries[0].query).toBe('abc');
  });

  it('fits the recorded viewport into the panel', () => {
    expect(fitScale({ width: 1000, height: 500 }, { width: 500, height: 500 })).toBe(0.5);
    expect(fitScale({ width: 100, height: 100 }, { width: 1000, height: 1000 })).toBe(2);
    expect(fitScale({ width: 0, height: 0 }, { width: 10, height: 10 })).toBe(1);
  });

  it('resolves variables and panel data fields', () => {
    const replace = (s: string) => s.replace('$session', 'abc');
    expect(variableValue(replace, '$session')).toBe('abc');
    expect(variableValue((s) => s, '$session')).toBeUndefined();
    expect(variableValue(replace, 'literal-id')).toBe('literal-id');
    expect(variableValue(replace, '')).toBeUndefined();
    const frame = createDataFrame({ fields: [{ name: 'session_id', type: FieldType.string, values: ['', 'x'] }] });
    expect(firstFieldValue({ series: [frame] } as never, 'session_id')).toBe('x');
  });
});
