// The page of the Grafana-compatible plugin host (pkg/pluginhost.Host): it does what Grafana's frontend does to load
// a plugin, and nothing of the plugin's own source is in this bundle.
//
// - SystemJS 6.15.1 with its amd and named-register extras (loaded by the page before this script), as in
//   Grafana's public/app/features/plugins/loader/systemjs.ts;
// - the shared modules, each registered as `package:<name>` and mapped by an import map, from the npm versions the
//   plugin builds against (lodash and moment with __useDefault, as Grafana's sharedDependenciesMap);
// - Grafana's services through @grafana/runtime's own setters, backed by the Go host's HTTP API over the real
//   backend binary;
// - then `System.import` of dist/'s module.js (the app, or a nested plugin at public/plugins/<app>/<dir>/module.js),
//   which must export `plugin`, and renders it: the app's root page after init(meta), a panel, a data source's
//   config editor (saved through PUT + health, as Grafana's data source page) or its query editor.
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as grafanaData from '@grafana/data';
import {
  AppPlugin,
  createTheme,
  DataSourcePlugin,
  dateTime,
  EventBusSrv,
  LoadingState,
  PanelPlugin,
  standardEditorsRegistry,
  type DataQuery,
  type DataSourceInstanceSettings,
  type DataSourceSettings,
  type TimeRange,
} from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import {
  config,
  locationService,
  setBackendSrv,
  setDataSourceSrv,
  setTemplateSrv,
  type BackendSrv,
  type DataSourceSrv,
  type TemplateSrv,
} from '@grafana/runtime';
import * as grafanaUI from '@grafana/ui';
import { GlobalStyles, ThemeContext } from '@grafana/ui';
import * as i18next from 'i18next';
import lodash from 'lodash';
import moment from 'moment';
import React, { useState } from 'react';
import ReactDOM from 'react-dom';
import { createRoot } from 'react-dom/client';
import * as jsxRuntime from 'react/jsx-runtime';
import * as reactRedux from 'react-redux';
import * as reactRouter from 'react-router';
import * as reactRouterDom from 'react-router-dom';
import { Router } from 'react-router-dom';
import * as reactRouterCompat from 'react-router-dom-v5-compat';
import { CompatRouter } from 'react-router-dom-v5-compat';
import * as redux from 'redux';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';

interface PluginMeta {
  id: string;
  type: 'app' | 'datasource' | 'panel';
  name: string;
  dir: string;
  module: string;
  baseUrl: string;
}
interface BootData {
  view: 'app' | 'panel' | 'config' | 'query';
  appId: string;
  plugins: PluginMeta[];
  datasource: DataSourceSettings;
}
declare global {
  interface Window {
    grafanaBootData: BootData;
    System: {
      set(id: string, module: unknown): void;
      addImportMap(map: { imports: Record<string, string> }): void;
      import(id: string): Promise<Record<string, unknown>>;
    };
    /** What the page did, for the tests to read. */
    pluginHost: {
      loaded: Record<string, string[]>;
      queries: DataQuery[];
      saved: Array<{ status: number; health: { status: string; message: string } }>;
      error?: string;
      /** Ad hoc filter keys and values from the loaded data source (its tag-keys / tag-values resources). */
      tagKeys?: () => Promise<string[]>;
      tagValues?: (key: string) => Promise<string[]>;
      /**
       * Runs a query through the loaded data source's own query() (DataSourceWithBackend -> /api/ds/query), with the
       * dashboard's ad hoc filters as Grafana passes them.
       */
      run?: (
        q: DataQuery,
        filters?: grafanaData.AdHocVariableFilter[]
      ) => Promise<{
        error?: string;
        frames: Array<{ name?: string; length: number; fields: string[]; sessionIds?: string[] }>;
      }>;
    };
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDataSourcePlugin = DataSourcePlugin<any>;

const boot = window.grafanaBootData;
const params = new URLSearchParams(window.location.search);
window.pluginHost = { loaded: {}, queries: [], saved: [] };

// --- shared modules, as Grafana's sharedDependenciesMap + buildImportMap ---
const shared: Record<string, unknown> = {
  '@emotion/css': emotionCss,
  '@emotion/react': emotionReact,
  '@grafana/data': grafanaData,
  '@grafana/runtime': grafanaRuntime,
  '@grafana/ui': grafanaUI,
  i18next,
  lodash: { ...lodash, default: lodash, __useDefault: true },
  moment: { ...moment, default: moment, __useDefault: true },
  react: React,
  'react-dom': ReactDOM,
  'react/jsx-runtime': jsxRuntime,
  'react-redux': reactRedux,
  'react-router': reactRouter,
  'react-router-dom': reactRouterDom,
  'react-router-dom-v5-compat': reactRouterCompat,
  redux,
  rxjs,
  'rxjs/operators': rxjsOperators,
};
const imports: Record<string, string> = {};
for (const [name, mod] of Object.entries(shared)) {
  window.System.set(`package:${name}`, mod);
  imports[name] = `package:${name}`;
}
window.System.addImportMap({ imports });

// --- Grafana's services ---
const theme = createTheme({ colors: { mode: params.get('theme') === 'light' ? 'light' : 'dark' } });
config.theme2 = theme;
config.bootData.user.timezone = 'utc';

interface FetchOptions {
  url: string;
  method?: string;
  data?: unknown;
  params?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Grafana's BackendSrv.fetch: an observable of the response; a non-2xx answer errors with { status, data }. */
function fetchFrom(options: FetchOptions) {
  let url = options.url.startsWith('/') || options.url.startsWith('http') ? options.url : `/${options.url}`;
  if (options.params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(options.params)) {
      if (v !== undefined && v !== null) {
        qs.set(k, String(v));
      }
    }
    url += (url.includes('?') ? '&' : '?') + qs.toString();
  }
  return rxjs.from(
    fetch(url, {
      method: options.method ?? 'GET',
      body: options.data === undefined ? undefined : JSON.stringify(options.data),
      headers: { 'Content-Type': 'application/json', ...(options.headers ?? {}) },
    }).then(async (r) => {
      const text = await r.text();
      let data: unknown = text;
      try {
        data = text === '' ? {} : JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      const response = {
        data,
        status: r.status,
        statusText: r.statusText,
        ok: r.ok,
        headers: r.headers,
        redirected: r.redirected,
        type: r.type,
        url: r.url,
        config: options,
      };
      if (!r.ok) {
        throw response;
      }
      return response;
    })
  );
}
const request = (method: string) => (url: string, data?: unknown) =>
  rxjs
    .lastValueFrom(
      fetchFrom({
        url,
        method,
        data: method === 'GET' ? undefined : data,
        params: method === 'GET' ? (data as Record<string, unknown>) : undefined,
      })
    )
    .then((r) => r.data);
setBackendSrv({
  fetch: fetchFrom,
  get: request('GET'),
  post: request('POST'),
  put: request('PUT'),
  delete: request('DELETE'),
  request: (o: FetchOptions) => rxjs.lastValueFrom(fetchFrom(o)).then((r) => r.data),
  datasourceRequest: (o: FetchOptions) => rxjs.lastValueFrom(fetchFrom(o)),
} as unknown as BackendSrv);

// Template variables from the URL, as Grafana's `var-<name>=` parameters.
const vars: Record<string, string> = {};
params.forEach((v, k) => {
  if (k.startsWith('var-')) {
    vars[k.slice(4)] = v;
  }
});
const replace = (s?: string) =>
  (s ?? '').replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (m, a?: string, b?: string) => vars[(a ?? b)!] ?? m);
setTemplateSrv({
  getVariables: () =>
    Object.keys(vars).map((name) => ({ name, type: 'custom', current: { value: vars[name], text: vars[name] } })),
  replace,
  containsTemplate: (t?: string) => /\$\{?\w+/.test(t ?? ''),
  updateTimeRange: () => {},
  getAdhocFilters: () => [],
} as unknown as TemplateSrv);
locationService.push(window.location.pathname + window.location.search);

const now = Date.now();
const timeRange: TimeRange = {
  from: dateTime(Number(params.get('from') ?? now - 7 * 24 * 3600 * 1000)),
  to: dateTime(Number(params.get('to') ?? now + 60_000)),
  raw: { from: 'now-7d', to: 'now' },
};

// Grafana fills the option editors registry at boot (public/app/core/components/OptionsUI/registry.tsx); a panel's
// option builder looks its editors up there, so a panel's defaults need it. The host renders no options pane: the
// editors render their value only.
standardEditorsRegistry.setInit(() =>
  [
    'boolean',
    'color',
    'dashboard-uid',
    'field-name',
    'multi-select',
    'number',
    'radio',
    'select',
    'slider',
    'strings',
    'text',
    'timezone',
    'unit',
  ].map((id) => ({
    id,
    name: id,
    description: '',
    editor: ({ value }: { value: unknown }) => <span>{String(value)}</span>,
  }))
);

// --- the loader ---
const byType = (t: PluginMeta['type']) => boot.plugins.find((p) => p.type === t);

/** Grafana's importPluginModule: SystemJS.import of the module URL; it must export `plugin`. */
async function importPlugin(meta: PluginMeta) {
  const mod = await window.System.import(`/${meta.module}`);
  window.pluginHost.loaded[meta.id] = Object.keys(mod);
  const plugin = mod.plugin;
  if (!plugin) {
    throw new Error(`${meta.module} has no "plugin" export (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  }
  const want = { app: AppPlugin, datasource: DataSourcePlugin, panel: PanelPlugin }[meta.type];
  if (!(plugin instanceof want)) {
    throw new Error(`${meta.module}: "plugin" is not a ${want.name} of the shared @grafana/data`);
  }
  (plugin as { meta?: unknown }).meta = { ...meta, info: { logos: {} }, jsonData: {} };
  return plugin;
}

let dsPlugin: AnyDataSourcePlugin | undefined;
let dsInstance: grafanaData.DataSourceApi | undefined;
function instanceSettings(): DataSourceInstanceSettings {
  const ds = boot.datasource;
  const meta = byType('datasource')!;
  return {
    id: ds.id,
    uid: ds.uid,
    type: ds.type,
    name: ds.name,
    access: 'proxy',
    jsonData: ds.jsonData,
    readOnly: false,
    meta: {
      id: meta.id,
      type: 'datasource',
      name: meta.name,
      module: meta.module,
      baseUrl: meta.baseUrl,
      info: { logos: {} },
    },
  } as unknown as DataSourceInstanceSettings;
}
function datasource() {
  if (!dsInstance && dsPlugin) {
    const Cls = dsPlugin.DataSourceClass as unknown as new (s: DataSourceInstanceSettings) => grafanaData.DataSourceApi;
    dsInstance = new Cls(instanceSettings());
    dsInstance.meta = instanceSettings().meta;
  }
  return dsInstance;
}
setDataSourceSrv({
  get: async (ref?: string | { uid?: string }) => datasource(),
  getList: (filters?: { pluginId?: string; type?: string }) => {
    const s = instanceSettings();
    if (filters?.pluginId && filters.pluginId !== s.type) {
      return [];
    }
    return [s];
  },
  getInstanceSettings: (ref?: string | { uid?: string } | null) => {
    const uid = typeof ref === 'string' ? ref : ref?.uid;
    return !uid || uid === boot.datasource.uid || uid === boot.datasource.name ? instanceSettings() : undefined;
  },
  reload: async () => {
    dsInstance = undefined;
  },
  registerRuntimeDataSource: () => {},
} as unknown as DataSourceSrv);

window.pluginHost.run = async (q: DataQuery, filters?: grafanaData.AdHocVariableFilter[]) => {
  const ds = datasource();
  if (!ds) {
    throw new Error('no data source loaded');
  }
  const res = await rxjs.lastValueFrom(
    ds.query({
      requestId: 'host',
      interval: '1m',
      intervalMs: 60_000,
      maxDataPoints: 1000,
      range: timeRange,
      scopedVars: {},
      targets: [q],
      filters,
      timezone: 'utc',
      app: 'dashboard',
      startTime: Date.now(),
    } as unknown as grafanaData.DataQueryRequest) as rxjs.Observable<grafanaData.DataQueryResponse>
  );
  return {
    error: res.error?.message,
    frames: res.data.map((f: grafanaData.DataFrame) => ({
      sessionIds: f.fields.find((x) => x.name === 'session_id')?.values.map(String),
      name: f.name,
      length: f.length,
      fields: f.fields.map((x) => x.name),
    })),
  };
};

/** Grafana accepts both shapes of a tag answer. */
const tagTexts = (r: grafanaData.GetTagResponse | grafanaData.MetricFindValue[] | undefined) =>
  (Array.isArray(r) ? r : (r?.data ?? [])).map((v) => String(v.text));
window.pluginHost.tagKeys = async () => tagTexts(await datasource()?.getTagKeys?.());
window.pluginHost.tagValues = async (key: string) =>
  tagTexts(await datasource()?.getTagValues?.({ key, filters: [], timeRange }));

// --- the views ---
/** Grafana's providers around every page: the router (react-router 5 + the v6 compat layer) and the theme. */
function Frame({ children }: { children: React.ReactNode }) {
  return (
    <Router history={locationService.getHistory()}>
      <CompatRouter>
        <ThemeContext.Provider value={theme}>
          <GlobalStyles />
          <div
            style={{
              padding: 8,
              background: theme.colors.background.primary,
              color: theme.colors.text.primary,
              minHeight: '100vh',
            }}
          >
            {children}
          </div>
        </ThemeContext.Provider>
      </CompatRouter>
    </Router>
  );
}

async function appView() {
  const meta = byType('app')!;
  const plugin = (await importPlugin(meta)) as AppPlugin;
  const settings = await rxjs.lastValueFrom(fetchFrom({ url: `/api/plugins/${meta.id}/settings` }));
  plugin.init(settings.data as grafanaData.AppPluginMeta);
  const Root = plugin.root!;
  return (
    <div data-testid="host-app">
      <Root
        meta={settings.data as grafanaData.AppPluginMeta}
        basename={`/a/${meta.id}`}
        query={{}}
        path={`/a/${meta.id}`}
        onNavChanged={() => {}}
      />
    </div>
  );
}

async function panelView() {
  // The data source is loaded too: the panel's queries go through it, as in a dashboard.
  dsPlugin = (await importPlugin(byType('datasource')!)) as AnyDataSourcePlugin;
  const plugin = (await importPlugin(byType('panel')!)) as PanelPlugin;
  const Panel = plugin.panel!;
  const width = Number(params.get('w') ?? 1000);
  const height = Number(params.get('h') ?? 560);
  const options = { ...(plugin.defaults as object), ...JSON.parse(params.get('options') ?? '{}') };
  return (
    <div data-testid="host-panel" style={{ width, height }}>
      <Panel
        id={1}
        data={{ state: LoadingState.Done, series: [], timeRange }}
        timeRange={timeRange}
        timeZone="utc"
        options={options}
        fieldConfig={{ defaults: {}, overrides: [] }}
        transparent={false}
        width={width}
        height={height}
        renderCounter={0}
        title="Replay"
        eventBus={new EventBusSrv()}
        replaceVariables={replace}
        onOptionsChange={() => {}}
        onFieldConfigChange={() => {}}
        onChangeTimeRange={() => {}}
      />
    </div>
  );
}

/** Grafana's data source settings page: the config editor, "Save & test" = PUT the settings, then the health check. */
function ConfigPage({ plugin }: { plugin: AnyDataSourcePlugin }) {
  const Editor = plugin.components.ConfigEditor!;
  const [options, setOptions] = useState<DataSourceSettings>(boot.datasource);
  const [result, setResult] = useState<{ status: string; message: string }>();
  const save = async () => {
    const put = await rxjs.lastValueFrom(
      fetchFrom({ url: `/api/datasources/uid/${options.uid}`, method: 'PUT', data: options })
    );
    boot.datasource = (put.data as { datasource: DataSourceSettings }).datasource;
    dsInstance = undefined;
    const health = (await datasource()!.testDatasource()) as { status: string; message: string };
    window.pluginHost.saved.push({ status: put.status, health });
    setResult({ status: health.status, message: health.message });
  };
  return (
    <div data-testid="host-config">
      <Editor options={options} onOptionsChange={setOptions} />
      <button
        data-testid="host-save"
        onClick={() =>
          save().catch((e) => {
            const message = String(e?.data?.message ?? e?.message ?? e);
            window.pluginHost.saved.push({ status: e?.status ?? 0, health: { status: 'error', message } });
            setResult({ status: 'error', message });
          })
        }
      >
        Save &amp; test
      </button>
      {result && (
        <div data-testid="host-health" data-status={result.status}>
          {result.message}
        </div>
      )}
    </div>
  );
}

function QueryPage({ plugin }: { plugin: AnyDataSourcePlugin }) {
  const Editor = plugin.components.QueryEditor!;
  const [query, setQuery] = useState<DataQuery>({ refId: 'A', ...JSON.parse(params.get('query') ?? '{}') });
  const onChange = (q: DataQuery) => {
    window.pluginHost.queries.push(q);
    setQuery(q);
  };
  return (
    <div data-testid="host-query">
      <Editor query={query} onChange={onChange} onRunQuery={() => {}} datasource={datasource()!} range={timeRange} />
      <pre data-testid="host-query-json">{JSON.stringify(query)}</pre>
    </div>
  );
}

async function view() {
  switch (boot.view) {
    case 'app':
      return appView();
    case 'panel':
      return panelView();
    case 'config':
    case 'query': {
      dsPlugin = (await importPlugin(byType('datasource')!)) as AnyDataSourcePlugin;
      return boot.view === 'config' ? <ConfigPage plugin={dsPlugin} /> : <QueryPage plugin={dsPlugin} />;
    }
  }
}

const root = createRoot(document.getElementById('root')!);
view().then(
  (el) => root.render(<Frame>{el}</Frame>),
  (e: Error) => {
    window.pluginHost.error = e.message;
    root.render(
      <Frame>
        <div data-testid="host-error">{e.message}</div>
      </Frame>
    );
  }
);
