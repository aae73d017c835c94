import React, { useEffect, useState } from 'react';
import { css } from '@emotion/css';
import type { DataFrame, GrafanaTheme2 } from '@grafana/data';
import { Alert, IconButton, LoadingPlaceholder, useStyles2 } from '@grafana/ui';

import { runQuery, type Range } from '../replay/api';

interface Props {
  dsUid: string;
  sessionId: string;
  range: Range;
  onClose: () => void;
}

/** One session's row, as the `session` query returns it (docs/plugin-api.md). */
export interface SessionDetails {
  device: string;
  os: string;
  browser: string;
  country: string;
  userId: string;
  entryUrl: string;
  pages: string[];
}

export function frameToDetails(frames: DataFrame[]): SessionDetails | undefined {
  const f = frames[0];
  if (!f || f.length === 0) {
    return undefined;
  }
  const v = (name: string) => String(f.fields.find((x) => x.name === name)?.values[0] ?? '');
  return {
    device: v('device'),
    os: v('os'),
    browser: v('browser'),
    country: v('country'),
    userId: v('user_id'),
    entryUrl: v('entry_url'),
    pages: v('urls').split('\n').filter(Boolean),
  };
}

/** Who and where: device, OS, browser, country, user id, entry URL and the pages of the session. */
export function DetailsDrawer({ dsUid, sessionId, range, onClose }: Props) {
  const styles = useStyles2(getStyles);
  const [state, setState] = useState<{ sessionId: string; details?: SessionDetails; error?: string }>();
  useEffect(() => {
    let cancelled = false;
    runQuery(dsUid, { queryType: 'session', sessionId }, range)
      .then((frames) => !cancelled && setState({ sessionId, details: frameToDetails(frames) }))
      .catch((e: Error) => !cancelled && setState({ sessionId, error: e.message }));
    return () => {
      cancelled = true;
    };
  }, [dsUid, sessionId, range]);
  const current = state?.sessionId === sessionId ? state : undefined;
  const d = current?.details;
  const rows: Array<[string, string]> = d
    ? [
        ['Device', d.device],
        ['OS', d.os],
        ['Browser', d.browser],
        ['Country', d.country],
        ['User', d.userId],
        ['Entry URL', d.entryUrl],
      ]
    : [];
  return (
    <aside className={styles.drawer} data-testid="replay-details" aria-label="Session details">
      <div className={styles.head}>
        <span>Session {sessionId}</span>
        <IconButton name="times" aria-label="Close details" onClick={onClose} />
      </div>
      {!current && <LoadingPlaceholder text="Loading details…" />}
      {current?.error && (
        <Alert title="Session details" severity="warning">
          {current.error}
        </Alert>
      )}
      {current && !current.error && !d && <div className={styles.muted}>No summary stored for this session.</div>}
      {d && (
        <>
          <dl className={styles.list}>
            {rows.map(([k, v]) => (
              <React.Fragment key={k}>
                <dt>{k}</dt>
                <dd data-testid={`replay-details-${k.toLowerCase().replace(/\s+/g, '-')}`}>{v || '—'}</dd>
              </React.Fragment>
            ))}
          </dl>
          <div className={styles.muted}>Pages ({d.pages.length})</div>
          <ul className={styles.pages} data-testid="replay-details-pages">
            {d.pages.map((p) => (
              <li key={p} title={p}>
                {p}
              </li>
            ))}
          </ul>
        </>
      )}
    </aside>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  drawer: css({
    position: 'absolute',
    top: 0,
    right: 0,
    bottom: 0,
    width: 300,
    maxWidth: '80%',
    overflowY: 'auto',
    padding: theme.spacing(1),
    background: theme.colors.background.primary,
    borderLeft: `1px solid ${theme.colors.border.medium}`,
    boxShadow: theme.shadows.z3,
    zIndex: 2,
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  head: css({
    display: 'flex',
    justifyContent: 'space-between',
    alignItems: 'center',
    fontWeight: theme.typography.fontWeightMedium,
  }),
  list: css({
    display: 'grid',
    gridTemplateColumns: 'max-content 1fr',
    gap: theme.spacing(0.5, 1),
    margin: theme.spacing(1, 0),
    dt: { color: theme.colors.text.secondary },
    dd: { margin: 0, overflowWrap: 'anywhere' },
  }),
  pages: css({ margin: 0, paddingLeft: theme.spacing(2), li: { overflowWrap: 'anywhere' } }),
  muted: css({ color: theme.colors.text.secondary }),
});
