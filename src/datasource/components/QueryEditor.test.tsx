import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';

import { QueryEditor } from './QueryEditor';
import type { DataSource } from '../datasource';
import type { SessionReplayQuery } from '../types';

const datasource = {
  getTagKeys: jest.fn(async () => [{ text: 'browser' }]),
  getTagValues: jest.fn(async () => [{ text: 'Chrome' }]),
} as unknown as DataSource;

function setup(query: Partial<SessionReplayQuery>) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const utils = render(
    <QueryEditor
      query={{ refId: 'A', ...query } as SessionReplayQuery}
      onChange={onChange}
      onRunQuery={onRunQuery}
      datasource={datasource}
    />
  );
  const last = (): SessionReplayQuery => onChange.mock.calls[onChange.mock.calls.length - 1][0];
  return { ...utils, onChange, onRunQuery, last };
}

describe('QueryEditor', () => {
  it('sessions: search, switches, order, limit, offset', () => {
    const { last, onRunQuery } = setup({ queryType: 'sessions' });
    fireEvent.change(screen.getByPlaceholderText('/checkout or user id'), { target: { value: 'cart' } });
    expect(last()).toMatchObject({ queryType: 'sessions', search: 'cart', limit: 100, offset: 0, orderBy: 'start' });
    fireEvent.blur(screen.getByPlaceholderText('/checkout or user id'));
    expect(onRunQuery).toHaveBeenCalled();

    fireEvent.click(document.getElementById('sr-has-errors')!);
    expect(last().hasErrors).toBe(true);
    fireEvent.click(document.getElementById('sr-retained-only')!);
    expect(last().retainedOnly).toBe(true);
    fireEvent.click(screen.getByLabelText('Asc'));
    expect(last().orderDir).toBe('asc');
    fireEvent.change(document.getElementById('sr-limit')!, { target: { value: '20' } });
    expect(last().limit).toBe(20);
    fireEvent.change(document.getElementById('sr-offset')!, { target: { value: '40' } });
    expect(last().offset).toBe(40);
  });

  it('sessions: edits ad hoc style filters', () => {
    const { last, rerender, onChange, onRunQuery } = setup({ queryType: 'sessions' });
    fireEvent.click(screen.getByRole('button', { name: /add filter/i }));
    expect(last().adhocFilters).toEqual([{ key: '', operator: '=', value: '' }]);

    rerender(
      <QueryEditor
        query={{ refId: 'A', queryType: 'sessions', adhocFilters: [{ key: 'browser', operator: '=', value: 'Chrome' }] }}
        onChange={onChange}
        onRunQuery={onRunQuery}
        datasource={datasource}
      />
    );
    expect(screen.getByText('browser')).toBeInTheDocument();
    expect(screen.getByText('Chrome')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Remove filter 1' }));
    expect(last().adhocFilters).toEqual([]);
  });

  it('stats shows search and filters but no paging', () => {
    setup({ queryType: 'stats' });
    expect(screen.getByPlaceholderText('/checkout or user id')).toBeInTheDocument();
    expect(document.getElementById('sr-limit')).toBeNull();
    expect(screen.getByRole('button', { name: /add filter/i })).toBeInTheDocument();
  });

  it('markers: session id', () => {
    const { last } = setup({ queryType: 'markers' });
    fireEvent.change(screen.getByPlaceholderText('$session'), { target: { value: '$session' } });
    expect(last()).toMatchObject({ queryType: 'markers', sessionId: '$session' });
    expect(screen.queryByPlaceholderText('/checkout or user id')).toBeNull();
  });

  it('traceSession: trace id', () => {
    const { last } = setup({ queryType: 'traceSession' });
    fireEvent.change(screen.getByPlaceholderText('$trace_id'), { target: { value: 'abc' } });
    expect(last()).toMatchObject({ queryType: 'traceSession', traceId: 'abc' });
  });

  it('switches query type and runs', () => {
    const { last, onRunQuery } = setup({ queryType: 'sessions' });
    fireEvent.click(screen.getByLabelText('Markers'));
    expect(last().queryType).toBe('markers');
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('migrates a legacy query shown in the editor', () => {
    setup({ type: 'traceSession', trace_id: 'legacy' } as unknown as SessionReplayQuery);
    expect(screen.getByPlaceholderText('$trace_id')).toHaveValue('legacy');
  });
});
