import { DEFAULT_QUERY, fromGrafanaFilters, isQueryRunnable, migrateQuery } from './query';
import type { SessionReplayQuery } from './types';

describe('query model', () => {
  it('fills sessions defaults', () => {
    expect(migrateQuery({ refId: 'A' } as SessionReplayQuery)).toEqual({
      refId: 'A',
      queryType: 'sessions',
      orderBy: 'start',
      orderDir: 'desc',
      limit: 100,
      offset: 0,
    });
    expect(DEFAULT_QUERY).toMatchObject({ queryType: 'sessions', limit: 100, offset: 0 });
  });

  it('keeps valid values and repairs invalid ones', () => {
    const q = migrateQuery({
      refId: 'A',
      queryType: 'sessions',
      orderBy: 'bogus',
      orderDir: 'asc',
      limit: '25',
      offset: -3,
    } as unknown as SessionReplayQuery);
    expect(q).toMatchObject({ orderBy: 'start', orderDir: 'asc', limit: 25, offset: 0 });
  });

  it('migrates older field names', () => {
    const q = migrateQuery({
      refId: 'B',
      type: 'markers',
      session_id: 's1',
      kinds: ['error', 'nope'],
    } as unknown as SessionReplayQuery);
    expect(q).toEqual({ refId: 'B', queryType: 'markers', sessionId: 's1', kinds: ['error'] });

    const t = migrateQuery({ refId: 'C', type: 'traceSession', trace_id: 'abc' } as unknown as SessionReplayQuery);
    expect(t).toEqual({ refId: 'C', queryType: 'traceSession', traceId: 'abc' });

    const s = migrateQuery({
      refId: 'D',
      queryType: 'stats',
      errorsOnly: true,
      query: '/checkout',
      filters: [{ key: 'browser', operator: '=', value: 'Chrome' }, { key: '' }, { key: 'os', operator: '??', value: 3 }],
    } as unknown as SessionReplayQuery);
    expect(s).toEqual({
      refId: 'D',
      queryType: 'stats',
      hasErrors: true,
      search: '/checkout',
      adhocFilters: [
        { key: 'browser', operator: '=', value: 'Chrome' },
        { key: 'os', operator: '=', value: '3' },
      ],
    });
  });

  it('falls back to sessions for an unknown query type', () => {
    expect(migrateQuery({ refId: 'A', queryType: 'nope' } as unknown as SessionReplayQuery).queryType).toBe('sessions');
  });

  it('maps Grafana ad hoc filters, including one-of operators', () => {
    expect(
      fromGrafanaFilters([
        { key: 'browser', operator: '=', value: 'Chrome' },
        { key: 'duration_ms', operator: '>', value: '1000' },
        { key: 'os', operator: '=|', value: '', values: ['Linux', 'Mac OS'] } as never,
        { key: 'device', operator: '!=|', value: '', values: ['a.b'] } as never,
        { key: 'x', operator: 'weird', value: 'y' },
        { key: '', operator: '=', value: 'z' },
      ])
    ).toEqual([
      { key: 'browser', operator: '=', value: 'Chrome' },
      { key: 'duration_ms', operator: '>', value: '1000' },
      { key: 'os', operator: '=~', value: '^(Linux|Mac OS)$' },
      { key: 'device', operator: '!~', value: '^(a\\.b)$' },
    ]);
  });

  it('knows when a query can run', () => {
    expect(isQueryRunnable({ refId: 'A', queryType: 'sessions' })).toBe(true);
    expect(isQueryRunnable({ refId: 'A', queryType: 'markers' })).toBe(false);
    expect(isQueryRunnable({ refId: 'A', queryType: 'markers', sessionId: 's' })).toBe(true);
    expect(isQueryRunnable({ refId: 'A', queryType: 'traceSession', traceId: ' ' })).toBe(false);
    expect(isQueryRunnable({ refId: 'A', queryType: 'stats', hide: true })).toBe(false);
  });
});
