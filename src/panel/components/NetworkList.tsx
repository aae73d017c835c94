import React from 'react';
import { css, cx } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Icon, useStyles2 } from '@grafana/ui';

import { requestInfo } from '../replay/describe';
import { formatOffset, traceExploreUrl } from '../replay/markers';
import type { Marker } from '../replay/types';

interface Props {
  start: number;
  current?: number;
  /** The session's request markers (from its client spans), in time order. */
  requests: Marker[];
  tracesUid: string;
  range: { from: number; to: number };
  onSeek: (ts: number) => void;
}

/** The page's requests: method, URL path, status, duration; failures stand out; each links to its trace in the
 * configured traces data source; a click on the row seeks to it. */
export function NetworkList({ start, current, requests, tracesUid, range, onSeek }: Props) {
  const styles = useStyles2(getStyles);
  if (requests.length === 0) {
    return <div className={styles.empty}>No requests recorded in this session.</div>;
  }
  return (
    <table className={styles.table} data-testid="replay-network" aria-label="Network">
      <thead>
        <tr>
          <th>time</th>
          <th>method</th>
          <th>path</th>
          <th>status</th>
          <th>ms</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {requests.map((m, i) => {
          const r = requestInfo(m);
          const past = current !== undefined && m.time <= current;
          return (
            <tr
              key={i}
              className={cx(styles.row, r.failed && styles.failed, past && styles.past)}
              data-testid="replay-request"
              data-failed={r.failed ? 'true' : 'false'}
              onClick={() => onSeek(m.time)}
            >
              <td className={styles.mono}>{formatOffset(m.time - start)}</td>
              <td>{r.method}</td>
              <td className={styles.path} title={m.url || r.path}>
                {r.path}
              </td>
              <td data-testid="replay-request-status">{r.status || (r.failed ? 'error' : '')}</td>
              <td className={styles.mono}>{r.durationMs ?? ''}</td>
              <td>
                {m.traceId && tracesUid && (
                  <a
                    className={styles.link}
                    href={traceExploreUrl(tracesUid, m.traceId, range)}
                    title={`Open trace ${m.traceId}`}
                    data-testid="replay-request-trace"
                    onClick={(e) => e.stopPropagation()}
                  >
                    <Icon name="link" size="sm" /> trace
                  </a>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  table: css({
    width: '100%',
    borderCollapse: 'collapse',
    fontSize: theme.typography.bodySmall.fontSize,
    th: {
      textAlign: 'left',
      color: theme.colors.text.secondary,
      fontWeight: theme.typography.fontWeightMedium,
      padding: theme.spacing(0.25, 0.5),
    },
    td: { padding: theme.spacing(0.25, 0.5), borderTop: `1px solid ${theme.colors.border.weak}`, whiteSpace: 'nowrap' },
  }),
  row: css({ cursor: 'pointer', '&:hover': { background: theme.colors.action.hover } }),
  failed: css({ color: theme.colors.error.text, background: theme.colors.error.transparent }),
  past: css({ opacity: 1 }),
  mono: css({ fontFamily: theme.typography.fontFamilyMonospace }),
  path: css({ maxWidth: 120, overflow: 'hidden', textOverflow: 'ellipsis' }),
  link: css({ color: theme.colors.text.link, '&:hover': { textDecoration: 'underline' } }),
  empty: css({ color: theme.colors.text.secondary, padding: theme.spacing(1) }),
});
