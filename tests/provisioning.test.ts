/**
 * @jest-environment node
 */
// Parses every provisioning YAML/JSON and checks that the references agree: data source uids, plugin ids,
// query types and the session variable used by the replay panel and the table's data link.
import { readdirSync, readFileSync } from 'fs';
import path from 'path';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..');
const prov = path.join(root, 'provisioning');
const pluginIds = ['', 'datasource', 'panel'].map(
  (dir) => JSON.parse(readFileSync(path.join(root, 'src', dir, 'plugin.json'), 'utf8')).id as string
);
const [APP_ID, DS_ID, PANEL_ID] = pluginIds;
const QUERY_TYPES = ['sessions', 'stats', 'markers', 'traceSession'];

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(path.join(prov, dir))
    .filter((f) => ext.test(f))
    .map((f) => path.join(prov, dir, f));
}

interface DsDef {
  uid: string;
  type: string;
  jsonData?: Record<string, unknown>;
  correlations?: Array<{ targetUID: string; config: { type: string; field: string; target: Record<string, unknown> } }>;
}
const datasources: DsDef[] = files('datasources', /\.ya?ml$/).flatMap(
  (f) => (parse(readFileSync(f, 'utf8')) as { datasources?: DsDef[] }).datasources ?? []
);
const dsByUid = new Map(datasources.map((d) => [d.uid, d]));
const dashboards = files('dashboards', /\.json$/).map((f) => ({
  file: path.basename(f),
  json: JSON.parse(readFileSync(f, 'utf8')),
}));

type Panel = {
  type: string;
  datasource?: { uid: string; type: string };
  targets?: Array<Record<string, unknown>>;
  options?: Record<string, unknown>;
  fieldConfig?: { overrides?: Array<{ matcher: { options: string }; properties: Array<{ id: string; value: unknown }> }> };
};

describe('provisioning', () => {
  it('uses the plugin ids of src/**/plugin.json', () => {
    expect(pluginIds).toEqual(['seed-sessionreplay-app', 'seed-sessionreplay-datasource', 'seed-sessionreplay-panel']);
    const apps = files('plugins', /\.ya?ml$/).flatMap((f) => parse(readFileSync(f, 'utf8')).apps ?? []);
    expect(apps).toEqual([expect.objectContaining({ type: APP_ID, disabled: false })]);
  });

  it('provisions our data source (uid sessionreplay) on the embedded ClickHouse', () => {
    const ds = dsByUid.get('sessionreplay');
    expect(ds?.type).toBe(DS_ID);
    expect(ds?.jsonData).toMatchObject({ addresses: ['127.0.0.1:9000'], database: 'sessionreplay', protocol: 'native' });
    const traces = ds?.jsonData?.tracesDatasourceUid as string;
    expect(dsByUid.has(traces)).toBe(true);
  });

  it('correlations target our data source with valid queries', () => {
    const correlations = datasources.flatMap((d) => (d.correlations ?? []).map((c) => ({ source: d, c })));
    expect(correlations.length).toBeGreaterThan(0);
    for (const { c } of correlations) {
      expect(dsByUid.get(c.targetUID)?.type).toBe(DS_ID);
      expect(c.config.type).toBe('query');
      expect(QUERY_TYPES).toContain(c.config.target.queryType);
      expect(c.config.field).toBeTruthy();
    }
    const traceToSession = correlations.find((x) => x.c.config.target.queryType === 'traceSession');
    expect(traceToSession?.source.uid).toBe('tempo');
    expect(traceToSession?.c.config.field).toBe('traceID');
    expect(traceToSession?.c.config.target.traceId).toContain('${');
    expect(correlations.some((x) => x.c.config.field === 'session.id')).toBe(true);
  });

  it('dashboards reference existing data sources, our panel and valid query types', () => {
    expect(dashboards.map((d) => d.json.title).sort()).toEqual(['Error sessions', 'Session replay']);
    const dashProvider = parse(readFileSync(path.join(prov, 'dashboards', 'dashboards.yaml'), 'utf8'));
    expect(dashProvider.providers[0].type).toBe('file');
    for (const { file, json } of dashboards) {
      const uids = new Set<string>();
      const panels: Panel[] = json.panels;
      const vars: Array<{ name: string; type: string; datasource?: { uid: string }; query?: unknown }> =
        json.templating.list;
      for (const v of vars) {
        if (v.datasource) {
          expect(dsByUid.get(v.datasource.uid)?.type).toBe(DS_ID);
        }
      }
      expect(vars.find((v) => v.name === 'session')).toMatchObject({ type: 'query', query: { queryType: 'sessions' } });
      expect(vars.find((v) => v.type === 'adhoc')?.datasource?.uid).toBe('sessionreplay');

      for (const p of panels) {
        for (const t of [p.datasource, ...(p.targets ?? []).map((x) => x.datasource as Panel['datasource'])]) {
          if (t) {
            expect(dsByUid.get(t.uid)?.type).toBe(t.type);
            uids.add(t.uid);
          }
        }
        for (const t of p.targets ?? []) {
          expect(QUERY_TYPES).toContain(t.queryType);
          if (t.queryType === 'markers') {
            expect(t.sessionId).toBe('$session');
          }
        }
      }
      const replay = panels.filter((p) => p.type === PANEL_ID);
      expect(replay).toHaveLength(1);
      expect(replay[0].options?.sessionVariable).toBe('$session');

      const table = panels.find((p) => p.type === 'table' && p.targets?.[0]?.queryType === 'sessions');
      const link = table?.fieldConfig?.overrides
        ?.find((o) => o.matcher.options === 'session_id')
        ?.properties.find((x) => x.id === 'links')?.value as Array<{ url: string }>;
      expect(link?.[0].url).toBe('/d/${__dashboard.uid}?var-session=${__value.raw}&${__url_time_range}');
      expect([...uids]).toEqual(['sessionreplay']);
      if (file === 'error-sessions.json') {
        expect(table?.targets?.[0].hasErrors).toBe(true);
        expect(panels.some((p) => p.targets?.some((t) => t.queryType === 'markers' && String(t.kinds) === 'error'))).toBe(
          true
        );
      }
    }
  });
});
