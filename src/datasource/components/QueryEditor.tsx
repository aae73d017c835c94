import React, { type ChangeEvent } from 'react';
import type { QueryEditorProps, SelectableValue } from '@grafana/data';
import {
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  Input,
  MultiSelect,
  RadioButtonGroup,
  Select,
  Stack,
} from '@grafana/ui';

import type { DataSource } from '../datasource';
import { migrateQuery } from '../query';
import {
  MARKER_KINDS,
  type MarkerKind,
  type OrderBy,
  type OrderDir,
  QUERY_TYPES,
  type QueryType,
  type SessionReplayOptions,
  type SessionReplayQuery,
} from '../types';
import { AdHocFiltersEditor } from './AdHocFiltersEditor';

export type Props = QueryEditorProps<DataSource, SessionReplayQuery, SessionReplayOptions>;

const ORDER_BY: Array<SelectableValue<OrderBy>> = [
  { label: 'Start', value: 'start' },
  { label: 'Duration', value: 'duration' },
  { label: 'Errors', value: 'errors' },
  { label: 'Clicks', value: 'clicks' },
  { label: 'Pages', value: 'pages' },
];
const ORDER_DIR: Array<SelectableValue<OrderDir>> = [
  { label: 'Desc', value: 'desc' },
  { label: 'Asc', value: 'asc' },
];
const KIND_OPTIONS: Array<SelectableValue<MarkerKind>> = MARKER_KINDS.map((k) => ({ label: k, value: k }));

export function QueryEditor({ query: rawQuery, onChange, onRunQuery, datasource, range }: Props) {
  const query = migrateQuery(rawQuery);
  const queryType = query.queryType ?? 'sessions';

  const change = (patch: Partial<SessionReplayQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };
  const text = (key: 'search' | 'sessionId' | 'traceId') => ({
    value: query[key] ?? '',
    onChange: (e: ChangeEvent<HTMLInputElement>) => onChange({ ...query, [key]: e.currentTarget.value }),
    onBlur: () => onRunQuery(),
  });
  const num = (key: 'limit' | 'offset') => ({
    value: query[key] ?? '',
    onChange: (e: ChangeEvent<HTMLInputElement>) => {
      const v = e.currentTarget.value;
      onChange({ ...query, [key]: v === '' ? undefined : Number(v) });
    },
    onBlur: () => onRunQuery(),
  });

  return (
    <Stack direction="column" gap={1}>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={14}>
          <RadioButtonGroup<QueryType>
            options={QUERY_TYPES.map((t) => ({ label: t.label, value: t.value, description: t.description }))}
            value={queryType}
            onChange={(v) => change({ queryType: v })}
          />
        </InlineField>
      </InlineFieldRow>

      {(queryType === 'sessions' || queryType === 'stats') && (
        <>
          <InlineFieldRow>
            <InlineField label="Search" labelWidth={14} tooltip="Case-insensitive substring of URLs and user id">
              <Input id="sr-search" width={40} placeholder="/checkout or user id" {...text('search')} />
            </InlineField>
            <InlineField label="Has errors" labelWidth={12}>
              <InlineSwitch
                id="sr-has-errors"
                value={Boolean(query.hasErrors)}
                onChange={(e) => change({ hasErrors: e.currentTarget.checked })}
              />
            </InlineField>
            <InlineField label="Retained only" labelWidth={14}>
              <InlineSwitch
                id="sr-retained-only"
                value={Boolean(query.retainedOnly)}
                onChange={(e) => change({ retainedOnly: e.currentTarget.checked })}
              />
            </InlineField>
          </InlineFieldRow>
          <InlineField label="Filters" labelWidth={14} tooltip="Device, OS, browser, URL, attributes.<name>, ...">
            <AdHocFiltersEditor
              filters={query.adhocFilters ?? []}
              source={datasource}
              range={range}
              onChange={(adhocFilters) => change({ adhocFilters })}
            />
          </InlineField>
        </>
      )}

      {queryType === 'sessions' && (
        <InlineFieldRow>
          <InlineField label="Order by" labelWidth={14}>
            <Select
              inputId="sr-order-by"
              width={16}
              options={ORDER_BY}
              value={query.orderBy ?? 'start'}
              onChange={(v) => change({ orderBy: v.value })}
            />
          </InlineField>
          <InlineField label="Direction">
            <RadioButtonGroup<OrderDir>
              options={ORDER_DIR}
              value={query.orderDir ?? 'desc'}
              onChange={(v) => change({ orderDir: v })}
            />
          </InlineField>
          <InlineField label="Limit">
            <Input id="sr-limit" type="number" width={10} min={1} {...num('limit')} />
          </InlineField>
          <InlineField label="Offset">
            <Input id="sr-offset" type="number" width={10} min={0} {...num('offset')} />
          </InlineField>
        </InlineFieldRow>
      )}

      {queryType === 'markers' && (
        <InlineFieldRow>
          <InlineField label="Session id" labelWidth={14} tooltip="Accepts variables, e.g. $session">
            <Input id="sr-session-id" width={40} placeholder="$session" {...text('sessionId')} />
          </InlineField>
          <InlineField label="Kinds" tooltip="Empty means every kind">
            <MultiSelect<MarkerKind>
              inputId="sr-kinds"
              width={48}
              options={KIND_OPTIONS}
              value={query.kinds ?? []}
              onChange={(v) => change({ kinds: v.map((o) => o.value!).filter(Boolean) })}
            />
          </InlineField>
        </InlineFieldRow>
      )}

      {queryType === 'traceSession' && (
        <InlineFieldRow>
          <InlineField label="Trace id" labelWidth={14} tooltip="Accepts variables, e.g. $trace_id">
            <Input id="sr-trace-id" width={40} placeholder="$trace_id" {...text('traceId')} />
          </InlineField>
        </InlineFieldRow>
      )}
    </Stack>
  );
}
