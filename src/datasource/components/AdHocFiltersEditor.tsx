import React, { useCallback, useState } from 'react';
import type { SelectableValue, TimeRange } from '@grafana/data';
import { Button, InlineFieldRow, Select, Stack } from '@grafana/ui';

import { AD_HOC_KEYS, AD_HOC_OPERATORS, type AdHocFilter, type AdHocOperator } from '../types';

export interface TagSource {
  getTagKeys(): Promise<Array<{ text: string }>>;
  getTagValues(options: { key: string; timeRange?: TimeRange; filters: [] }): Promise<Array<{ text: string }>>;
}

interface Props {
  filters: AdHocFilter[];
  onChange: (filters: AdHocFilter[]) => void;
  source: TagSource;
  range?: TimeRange;
}

const OPERATOR_OPTIONS: Array<SelectableValue<AdHocOperator>> = AD_HOC_OPERATORS.map((op) => ({ label: op, value: op }));
const toOptions = (items: Array<{ text: string }>): Array<SelectableValue<string>> =>
  items.map((i) => ({ label: i.text, value: i.text }));

/** Editor of the query's own ad hoc style filters (key, operator, value), keys and values served by the backend. */
export function AdHocFiltersEditor({ filters, onChange, source, range }: Props) {
  const [keys, setKeys] = useState<Array<SelectableValue<string>>>(AD_HOC_KEYS.map((k) => ({ label: k, value: k })));
  const [values, setValues] = useState<Record<string, Array<SelectableValue<string>>>>({});
  const [loading, setLoading] = useState(false);

  const loadKeys = useCallback(async () => {
    setLoading(true);
    try {
      const res = await source.getTagKeys();
      if (res.length > 0) {
        setKeys(toOptions(res));
      }
    } catch {
      // keep the static whitelist
    } finally {
      setLoading(false);
    }
  }, [source]);

  const loadValues = useCallback(
    async (key: string) => {
      if (!key) {
        return;
      }
      try {
        const res = await source.getTagValues({ key, timeRange: range, filters: [] });
        setValues((v) => ({ ...v, [key]: toOptions(res) }));
      } catch {
        setValues((v) => ({ ...v, [key]: [] }));
      }
    },
    [source, range]
  );

  const update = (i: number, patch: Partial<AdHocFilter>) =>
    onChange(filters.map((f, j) => (j === i ? { ...f, ...patch } : f)));

  return (
    <Stack direction="column" gap={0.5}>
      {filters.map((f, i) => (
        <InlineFieldRow key={i} data-testid={`adhoc-filter-${i}`}>
          <Select
            aria-label={`Filter ${i + 1} key`}
            width={24}
            isLoading={loading}
            allowCustomValue
            value={f.key ? { label: f.key, value: f.key } : null}
            options={keys}
            onOpenMenu={loadKeys}
            onChange={(v) => update(i, { key: v?.value ?? '' })}
          />
          <Select
            aria-label={`Filter ${i + 1} operator`}
            width={8}
            value={f.operator}
            options={OPERATOR_OPTIONS}
            onChange={(v) => update(i, { operator: v.value ?? '=' })}
          />
          <Select
            aria-label={`Filter ${i + 1} value`}
            width={32}
            allowCustomValue
            value={f.value !== '' ? { label: f.value, value: f.value } : null}
            options={values[f.key] ?? []}
            onOpenMenu={() => loadValues(f.key)}
            onChange={(v) => update(i, { value: v?.value ?? '' })}
          />
          <Button
            aria-label={`Remove filter ${i + 1}`}
            variant="secondary"
            icon="times"
            onClick={() => onChange(filters.filter((_, j) => j !== i))}
          />
        </InlineFieldRow>
      ))}
      <div>
        <Button
          variant="secondary"
          size="sm"
          icon="plus"
          onClick={() => onChange([...filters, { key: '', operator: '=', value: '' }])}
        >
          Add filter
        </Button>
      </div>
    </Stack>
  );
}
