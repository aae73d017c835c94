import React from 'react';
import { css, cx } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';

import { consoleInfo } from '../replay/describe';
import { formatOffset } from '../replay/markers';
import type { Marker } from '../replay/types';

interface Props {
  start: number;
  /** The session's console markers, in time order. */
  entries: Marker[];
  onSeek: (ts: number) => void;
}

/** The page's console (errors and warnings, logs when recorded): time, level, message; a click seeks there. The
 * message is shown as stored, masked by the recorder and the receiver. */
export function ConsoleList({ start, entries, onSeek }: Props) {
  const styles = useStyles2(getStyles);
  if (entries.length === 0) {
    return <div className={styles.empty}>No console messages recorded in this session.</div>;
  }
  return (
    <ul className={styles.list} data-testid="replay-console" aria-label="Console">
      {entries.map((m, i) => {
        const c = consoleInfo(m);
        return (
          <li key={i} className={cx(styles.row, styles[c.level as 'error' | 'warn'])} data-level={c.level}>
            <button
              type="button"
              className={styles.seek}
              onClick={() => onSeek(m.time)}
              data-testid="replay-console-entry"
            >
              <span className={styles.time}>{formatOffset(m.time - start)}</span>
              <span className={styles.level}>{c.level}</span>
              <span className={styles.message} title={c.message}>
                {c.message}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  list: css({
    listStyle: 'none',
    margin: 0,
    padding: 0,
    overflowY: 'auto',
    height: '100%',
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  row: css({ borderBottom: `1px solid ${theme.colors.border.weak}` }),
  error: css({ background: theme.colors.error.transparent }),
  warn: css({ background: theme.colors.warning.transparent }),
  seek: css({
    display: 'flex',
    width: '100%',
    gap: theme.spacing(1),
    background: 'none',
    border: 'none',
    color: theme.colors.text.primary,
    textAlign: 'left',
    padding: theme.spacing(0.5),
    cursor: 'pointer',
    '&:hover': { background: theme.colors.action.hover },
  }),
  time: css({ fontFamily: theme.typography.fontFamilyMonospace, color: theme.colors.text.secondary }),
  level: css({ fontWeight: theme.typography.fontWeightMedium, minWidth: 40 }),
  message: css({
    fontFamily: theme.typography.fontFamilyMonospace,
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    whiteSpace: 'nowrap',
  }),
  empty: css({ color: theme.colors.text.secondary, padding: theme.spacing(1) }),
});
