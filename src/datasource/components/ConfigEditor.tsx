import React, { type ChangeEvent } from 'react';
import {
  type DataSourcePluginOptionsEditorProps,
  type DataSourceInstanceSettings,
  onUpdateDatasourceSecureJsonDataOption,
  updateDatasourcePluginResetOption,
} from '@grafana/data';
import { DataSourcePicker } from '@grafana/runtime';
import { Field, FieldSet, Input, RadioButtonGroup, SecretInput, SecretTextArea, Switch, TagsInput } from '@grafana/ui';

import { DEFAULT_SETTINGS, type Protocol, type SessionReplayOptions, type SessionReplaySecureJsonData } from '../types';

export type Props = DataSourcePluginOptionsEditorProps<SessionReplayOptions, SessionReplaySecureJsonData>;

const PROTOCOLS: Array<{ label: string; value: Protocol }> = [
  { label: 'Native', value: 'native' },
  { label: 'HTTP', value: 'http' },
];

const TRACE_PLUGINS = ['tempo', 'grafana-clickhouse-datasource', 'jaeger', 'zipkin', 'grafana-opensearch-datasource'];

export function ConfigEditor(props: Props) {
  const { options, onOptionsChange } = props;
  const jsonData = options.jsonData ?? {};
  const secureFields = (options.secureJsonFields ?? {}) as Record<string, boolean>;
  const secure = (options.secureJsonData ?? {}) as SessionReplaySecureJsonData;

  const setJson = <K extends keyof SessionReplayOptions>(key: K, value: SessionReplayOptions[K]) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, [key]: value } });
  const setNumber = (key: 'dialTimeoutSeconds' | 'queryTimeoutSeconds' | 'maxRows') => (e: ChangeEvent<HTMLInputElement>) => {
    const v = e.currentTarget.value;
    setJson(key, v === '' ? undefined : Number(v));
  };
  const onReset = (key: keyof SessionReplaySecureJsonData) => () => updateDatasourcePluginResetOption(props, key);

  return (
    <>
      <FieldSet label="Server">
        <Field
          label="Addresses"
          description="ClickHouse host:port list (native port 9000, or HTTP port 8123 with protocol HTTP). Press enter to add."
        >
          <TagsInput
            id="sr-addresses"
            placeholder={DEFAULT_SETTINGS.addresses[0]}
            tags={jsonData.addresses ?? []}
            onChange={(tags) => setJson('addresses', tags)}
          />
        </Field>
        <Field label="Protocol">
          <RadioButtonGroup
            options={PROTOCOLS}
            value={jsonData.protocol ?? DEFAULT_SETTINGS.protocol}
            onChange={(v) => setJson('protocol', v)}
          />
        </Field>
        <Field label="Database" description="Database holding the session replay tables">
          <Input
            id="sr-database"
            width={40}
            placeholder={DEFAULT_SETTINGS.database}
            value={jsonData.database ?? ''}
            onChange={(e: ChangeEvent<HTMLInputElement>) => setJson('database', e.currentTarget.value)}
          />
        </Field>
      </FieldSet>

      <FieldSet label="Authentication">
        <Field label="Username" description="A read-only user is recommended">
          <Input
            id="sr-username"
            width={40}
            placeholder={DEFAULT_SETTINGS.username}
            value={jsonData.username ?? ''}
            onChange={(e: ChangeEvent<HTMLInputElement>) => setJson('username', e.currentTarget.value)}
          />
        </Field>
        <Field label="Password">
          <SecretInput
            id="sr-password"
            width={40}
            isConfigured={Boolean(secureFields.password)}
            value={secure.password ?? ''}
            placeholder="password"
            onChange={onUpdateDatasourceSecureJsonDataOption(props, 'password')}
            onReset={onReset('password')}
          />
        </Field>
      </FieldSet>

      <FieldSet label="TLS">
        <Field label="Use TLS">
          <Switch
            id="sr-tls-enabled"
            value={Boolean(jsonData.tlsEnabled)}
            onChange={(e) => setJson('tlsEnabled', e.currentTarget.checked)}
          />
        </Field>
        <Field label="Skip certificate verification">
          <Switch
            id="sr-tls-skip-verify"
            value={Boolean(jsonData.tlsSkipVerify)}
            onChange={(e) => setJson('tlsSkipVerify', e.currentTarget.checked)}
          />
        </Field>
        {jsonData.tlsEnabled && (
          <>
            <Field label="CA certificate" description="PEM">
              <SecretTextArea
                id="sr-tls-ca"
                rows={4}
                cols={60}
                isConfigured={Boolean(secureFields.tlsCACert)}
                value={secure.tlsCACert ?? ''}
                placeholder="-----BEGIN CERTIFICATE-----"
                onChange={onUpdateDatasourceSecureJsonDataOption(props, 'tlsCACert')}
                onReset={onReset('tlsCACert')}
              />
            </Field>
            <Field label="Client certificate" description="PEM">
              <SecretTextArea
                id="sr-tls-cert"
                rows={4}
                cols={60}
                isConfigured={Boolean(secureFields.tlsClientCert)}
                value={secure.tlsClientCert ?? ''}
                placeholder="-----BEGIN CERTIFICATE-----"
                onChange={onUpdateDatasourceSecureJsonDataOption(props, 'tlsClientCert')}
                onReset={onReset('tlsClientCert')}
              />
            </Field>
            <Field label="Client key" description="PEM">
              <SecretTextArea
                id="sr-tls-key"
                rows={4}
                cols={60}
                isConfigured={Boolean(secureFields.tlsClientKey)}
                value={secure.tlsClientKey ?? ''}
                placeholder="-----BEGIN PRIVATE KEY-----"
                onChange={onUpdateDatasourceSecureJsonDataOption(props, 'tlsClientKey')}
                onReset={onReset('tlsClientKey')}
              />
            </Field>
          </>
        )}
      </FieldSet>

      <FieldSet label="Limits">
        <Field label="Dial timeout (seconds)">
          <Input
            id="sr-dial-timeout"
            type="number"
            width={20}
            placeholder={String(DEFAULT_SETTINGS.dialTimeoutSeconds)}
            value={jsonData.dialTimeoutSeconds ?? ''}
            onChange={setNumber('dialTimeoutSeconds')}
          />
        </Field>
        <Field label="Query timeout (seconds)">
          <Input
            id="sr-query-timeout"
            type="number"
            width={20}
            placeholder={String(DEFAULT_SETTINGS.queryTimeoutSeconds)}
            value={jsonData.queryTimeoutSeconds ?? ''}
            onChange={setNumber('queryTimeoutSeconds')}
          />
        </Field>
        <Field label="Max rows" description="Upper bound of rows one query returns">
          <Input
            id="sr-max-rows"
            type="number"
            width={20}
            placeholder={String(DEFAULT_SETTINGS.maxRows)}
            value={jsonData.maxRows ?? ''}
            onChange={setNumber('maxRows')}
          />
        </Field>
      </FieldSet>

      <FieldSet label="Links">
        <Field label="Traces data source" description="Data source that trace-id links from replay markers open">
          <DataSourcePicker
            inputId="sr-traces-ds"
            pluginId={undefined}
            filter={(ds: DataSourceInstanceSettings) => TRACE_PLUGINS.includes(ds.type)}
            current={jsonData.tracesDatasourceUid || null}
            noDefault
            onChange={(ds: DataSourceInstanceSettings) => setJson('tracesDatasourceUid', ds.uid)}
            onClear={() => setJson('tracesDatasourceUid', '')}
          />
        </Field>
      </FieldSet>
    </>
  );
}
