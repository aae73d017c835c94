import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import type { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
import type { SessionReplayOptions, SessionReplaySecureJsonData } from '../types';

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  DataSourcePicker: (props: { onChange: (ds: { uid: string }) => void; onClear: () => void }) => (
    <>
      <button onClick={() => props.onChange({ uid: 'tempo' })}>pick traces</button>
      <button onClick={() => props.onClear()}>clear traces</button>
    </>
  ),
}));

type Settings = DataSourceSettings<SessionReplayOptions, SessionReplaySecureJsonData>;

function settings(patch: Partial<Settings> = {}): Settings {
  return {
    id: 1,
    uid: 'sessionreplay',
    orgId: 1,
    name: 'Session Replay',
    type: 'seed-sessionreplay-datasource',
    typeName: 'Session Replay',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    readOnly: false,
    withCredentials: false,
    jsonData: { addresses: ['127.0.0.1:9000'], database: 'sessionreplay' },
    secureJsonFields: {},
    secureJsonData: {},
    ...patch,
  } as Settings;
}

function setup(patch: Partial<Settings> = {}) {
  const onOptionsChange = jest.fn();
  const options = settings(patch);
  const utils = render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
  const last = (): Settings => onOptionsChange.mock.calls[onOptionsChange.mock.calls.length - 1][0];
  return { ...utils, onOptionsChange, last, options };
}

describe('ConfigEditor', () => {
  it('edits the text and number settings', () => {
    const { last, onOptionsChange } = setup();
    fireEvent.change(screen.getByPlaceholderText('sessionreplay'), { target: { value: 'replays' } });
    expect(last().jsonData.database).toBe('replays');
    fireEvent.change(screen.getByPlaceholderText('default'), { target: { value: 'reader' } });
    expect(last().jsonData.username).toBe('reader');
    fireEvent.change(screen.getByPlaceholderText('10'), { target: { value: '5' } });
    expect(last().jsonData.dialTimeoutSeconds).toBe(5);
    fireEvent.change(screen.getByPlaceholderText('60'), { target: { value: '30' } });
    expect(last().jsonData.queryTimeoutSeconds).toBe(30);
    fireEvent.change(screen.getByPlaceholderText('10000'), { target: { value: '500' } });
    expect(last().jsonData.maxRows).toBe(500);
    expect(onOptionsChange).toHaveBeenCalledTimes(5);
  });

  it('adds an address and picks the protocol', () => {
    const { last } = setup();
    const input = screen.getByPlaceholderText('127.0.0.1:9000');
    fireEvent.change(input, { target: { value: 'ch2:9000' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(last().jsonData.addresses).toEqual(['127.0.0.1:9000', 'ch2:9000']);
    fireEvent.click(screen.getByLabelText('HTTP'));
    expect(last().jsonData.protocol).toBe('http');
  });

  it('stores the password in secureJsonData and can reset a configured one', () => {
    const { last } = setup();
    fireEvent.change(screen.getByPlaceholderText('password'), { target: { value: 's3cret' } });
    expect(last().secureJsonData).toEqual({ password: 's3cret' });
    expect(last().jsonData).not.toHaveProperty('password');
  });

  it('resets a configured secret', () => {
    const { last } = setup({ secureJsonFields: { password: true } });
    fireEvent.click(screen.getByRole('button', { name: /reset/i }));
    expect(last().secureJsonFields.password).toBe(false);
    expect(last().secureJsonData?.password).toBe('');
  });

  it('shows TLS certificates (secure) when TLS is on, with reset', () => {
    const { last, rerender, onOptionsChange } = setup();
    expect(screen.queryByText('CA certificate')).not.toBeInTheDocument();
    fireEvent.click(screen.getByLabelText('Use TLS', { selector: 'input' }));
    expect(last().jsonData.tlsEnabled).toBe(true);

    const tls = settings({
      jsonData: { tlsEnabled: true },
      secureJsonFields: { tlsClientKey: true },
    });
    rerender(<ConfigEditor options={tls} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getAllByPlaceholderText('-----BEGIN CERTIFICATE-----')[0], {
      target: { value: 'CA PEM' },
    });
    expect(last().secureJsonData).toEqual({ tlsCACert: 'CA PEM' });
    fireEvent.change(screen.getAllByPlaceholderText('-----BEGIN CERTIFICATE-----')[1], {
      target: { value: 'CERT PEM' },
    });
    expect(last().secureJsonData).toEqual({ tlsClientCert: 'CERT PEM' });
    fireEvent.click(screen.getByRole('button', { name: /reset/i }));
    expect(last().secureJsonFields.tlsClientKey).toBe(false);
    fireEvent.click(screen.getByLabelText('Skip certificate verification', { selector: 'input' }));
    expect(last().jsonData.tlsSkipVerify).toBe(true);
  });

  it('picks and clears the traces data source', () => {
    const { last } = setup();
    fireEvent.click(screen.getByText('pick traces'));
    expect(last().jsonData.tracesDatasourceUid).toBe('tempo');
    fireEvent.click(screen.getByText('clear traces'));
    expect(last().jsonData.tracesDatasourceUid).toBe('');
  });
});
