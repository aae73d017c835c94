import {
  type DataQueryRequest,
  type DataSourceInstanceSettings,
  dateTime,
  FieldType,
  createDataFrame,
  type ScopedVars,
} from '@grafana/data';
import { setBackendSrv, type BackendSrv, type TemplateSrv } from '@grafana/runtime';
import { of } from 'rxjs';

import { DataSource, framesToValues } from './datasource';
import type { SessionReplayOptions, SessionReplayQuery } from './types';

const settings = {
  id: 1,
  uid: 'sessionreplay',
  type: 'seed-sessionreplay-datasource',
  name: 'Session Replay',
  access: 'proxy',
  readOnly: false,
  meta: { id: 'seed-sessionreplay-datasource' },
  jsonData: { tracesDatasourceUid: 'tempo' },
} as unknown as DataSourceInstanceSettings<SessionReplayOptions>;

const vars: Record<string, string> = { session: 'sess-1', trace: 'trace-9', browser: 'Firefox', q: 'checkout', re: 'a.b' };

function templateSrv(adhoc: unknown[] = []): TemplateSrv {
  return {
    replace: jest.fn((target: string, scoped?: ScopedVars, format?: string) =>
      (target ?? '').replace(/\$(\w+)/g, (m, name: string) => {
        const v = (scoped?.[name]?.value as string | undefined) ?? vars[name];
        if (v === undefined) {
          return m;
        }
        return format === 'regex' ? v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : v;
      })
    ),
    getVariables: () => [],
    containsTemplate: () => false,
    updateTimeRange: () => {},
    getAdhocFilters: jest.fn(() => adhoc),
  } as unknown as TemplateSrv;
}

describe('DataSource', () => {
  it('applies template variables to every text field', () => {
    const ds = new DataSource(settings, templateSrv());
    const q: SessionReplayQuery = {
      refId: 'A',
      queryType: 'sessions',
      search: '/$q',
      sessionId: '$session',
      traceId: '$trace',
      adhocFilters: [
        { key: 'browser', operator: '=', value: '$browser' },
        { key: 'url', operator: '=~', value: '$re' },
      ],
    };
    const out = ds.applyTemplateVariables(q, { q: { text: 'x', value: 'cart' } });
    expect(out.search).toBe('/cart');
    expect(out.sessionId).toBe('sess-1');
    expect(out.traceId).toBe('trace-9');
    expect(out.adhocFilters).toEqual([
      { key: 'browser', operator: '=', value: 'Firefox' },
      { key: 'url', operator: '=~', value: 'a\\.b' },
    ]);
    expect(out).toMatchObject({ orderBy: 'start', limit: 100 });
  });

  it('puts the dashboard ad hoc filters (filters argument) into adhocFilters', () => {
    const srv = templateSrv([{ key: 'ignored', operator: '=', value: 'x' }]);
    const ds = new DataSource(settings, srv);
    const out = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'sessions', adhocFilters: [{ key: 'os', operator: '=', value: 'Linux' }] },
      {},
      [
        { key: 'device', operator: '=', value: 'mobile' },
        { key: 'url', operator: '=~', value: '.*checkout.*' },
      ]
    );
    expect(out.adhocFilters).toEqual([
      { key: 'os', operator: '=', value: 'Linux' },
      { key: 'device', operator: '=', value: 'mobile' },
      { key: 'url', operator: '=~', value: '.*checkout.*' },
    ]);
  });

  it('falls back to getTemplateSrv().getAdhocFilters on older Grafana', () => {
    const srv = templateSrv([{ key: 'browser', operator: '!=', value: 'Safari' }]);
    const ds = new DataSource(settings, srv);
    const out = ds.applyTemplateVariables({ refId: 'A', queryType: 'stats' }, {});
    expect(out.adhocFilters).toEqual([{ key: 'browser', operator: '!=', value: 'Safari' }]);
    expect((srv as unknown as { getAdhocFilters: jest.Mock }).getAdhocFilters).toHaveBeenCalledWith('Session Replay');
  });

  it('gets tag keys and values through the backend resources, with the time range', async () => {
    const fetch = jest.fn((opts: { url: string }) =>
      of({ data: opts.url.endsWith('tag-keys') ? [{ text: 'browser' }, { text: 'os' }] : [{ text: 'Chrome' }] })
    );
    setBackendSrv({ fetch } as unknown as BackendSrv);
    const ds = new DataSource(settings, templateSrv());

    await expect(ds.getTagKeys()).resolves.toEqual([{ text: 'browser' }, { text: 'os' }]);
    expect(fetch.mock.calls[0][0]).toMatchObject({
      method: 'GET',
      url: '/api/datasources/uid/sessionreplay/resources/tag-keys',
    });

    const from = dateTime(1700000000000);
    const to = dateTime(1700003600000);
    const values = await ds.getTagValues({
      key: 'browser',
      filters: [],
      timeRange: { from, to, raw: { from: 'now-1h', to: 'now' } },
    });
    expect(values).toEqual([{ text: 'Chrome' }]);
    expect(fetch.mock.calls[1][0]).toMatchObject({
      url: '/api/datasources/uid/sessionreplay/resources/tag-values',
      params: { key: 'browser', from: 1700000000000, to: 1700003600000 },
    });
  });

  it('filters out queries that cannot run', () => {
    const ds = new DataSource(settings, templateSrv());
    expect(ds.filterQuery({ refId: 'A', queryType: 'markers' })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: 'markers', sessionId: '$session' })).toBe(true);
  });

  it('fills a $session variable from a sessions query (metricFindQuery)', async () => {
    const ds = new DataSource(settings, templateSrv());
    const frame = createDataFrame({
      fields: [
        { name: 'session_id', type: FieldType.string, values: ['s1', 's2', 's1', ''] },
        { name: 'errors', type: FieldType.number, values: [1, 0, 1, 0] },
      ],
    });
    const spy = jest.spyOn(ds, 'query').mockReturnValue(of({ data: [frame] }));
    const values = await ds.metricFindQuery({ refId: 'v', queryType: 'sessions', hasErrors: true });
    expect(values).toEqual([
      { text: 's1', value: 's1' },
      { text: 's2', value: 's2' },
    ]);
    const req = spy.mock.calls[0][0] as DataQueryRequest<SessionReplayQuery>;
    expect(req.targets[0]).toMatchObject({ queryType: 'sessions', hasErrors: true, limit: 100 });

    await ds.metricFindQuery('checkout');
    expect((spy.mock.calls[1][0] as DataQueryRequest<SessionReplayQuery>).targets[0]).toMatchObject({
      queryType: 'sessions',
      search: 'checkout',
    });
    await expect(ds.metricFindQuery({ refId: 'v', queryType: 'markers' })).resolves.toEqual([]);
  });

  it('has variable support that turns a stored variable query into a sessions query', () => {
    const ds = new DataSource(settings, templateSrv());
    const support = ds.variables as unknown as { toDataQuery: (q: unknown) => SessionReplayQuery };
    expect(support.toDataQuery({ refId: 'x', search: 'a' })).toMatchObject({ queryType: 'sessions', search: 'a' });
  });

  it('maps frames to variable values by query type', () => {
    const frame = createDataFrame({ fields: [{ name: 'name', type: FieldType.string, values: ['click'] }] });
    expect(framesToValues([frame], { refId: 'A', queryType: 'markers' })).toEqual([{ text: 'click', value: 'click' }]);
  });

  it('builds resource URLs and default query', () => {
    const ds = new DataSource(settings, templateSrv());
    expect(ds.resourceUrl('sessions/a/replay')).toBe('/api/datasources/uid/sessionreplay/resources/sessions/a/replay');
    expect(ds.tracesDatasourceUid).toBe('tempo');
    expect(ds.getDefaultQuery({} as never)).toMatchObject({ queryType: 'sessions' });
  });
});
