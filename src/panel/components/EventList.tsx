import React from 'react';
import { css, cx } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Icon, useStyles2, useTheme2 } from '@grafana/ui';

import { describeMarker } from '../replay/describe';
import { formatOffset, markerColor, traceExploreUrl } from '../replay/markers';
import type { Marker } from '../replay/types';

interface Props {
  start: number;
  current?: number;
  markers: Marker[];
  tracesUid: string;
  range: { from: number; to: number };
  onSeek: (ts: number) => void;
}

/** Events and errors of the session, each saying what it was (the click's target, the page's URL, the error's
 * message, the request's status); the row being played is highlighted; trace ids link to Explore. */
export function EventList({ start, current, markers, tracesUid, range, onSeek }: Props) {
  const styles = useStyles2(getStyles);
  const theme = useTheme2();
  let active = -1;
  if (current !== undefined) {
    markers.forEach((m, i) => {
      if (m.time <= current) {
        active = i;
      }
    });
  }
  if (markers.length === 0) {
    return <div className={styles.empty}>No events in this session.</div>;
  }
  return (
    <ul className={styles.list} data-testid="replay-events" aria-label="Session events">
      {markers.map((m, i) => {
        const text = describeMarker(m);
        return (
          <li key={i} className={cx(styles.row, i === active && styles.active)} data-kind={m.kind}>
            <button type="button" className={styles.seek} onClick={() => onSeek(m.time)} data-testid="replay-event">
              <span className={styles.time}>{formatOffset(m.time - start)}</span>
              <span className={styles.kind} style={{ color: markerColor(m.kind, theme) }}>
                {m.kind}
              </span>
              <span className={styles.name} title={text.title} data-testid="replay-event-label">
                {text.label}
              </span>
            </button>
            {m.traceId && tracesUid && (
              <a
                className={styles.link}
                href={traceExploreUrl(tracesUid, m.traceId, range)}
                title={`Open trace ${m.traceId}`}
                data-testid="replay-trace-link"
              >
                <Icon name="link" size="sm" /> trace
              </a>
            )}
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
  row: css({
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(0.5),
    borderBottom: `1px solid ${theme.colors.border.weak}`,
    paddingRight: theme.spacing(0.5),
  }),
  active: css({ background: theme.colors.action.selected }),
  seek: css({
    display: 'flex',
    flex: 1,
    minWidth: 0,
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
  kind: css({ fontWeight: theme.typography.fontWeightMedium, minWidth: 64 }),
  name: css({ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }),
  link: css({ color: theme.colors.text.link, whiteSpace: 'nowrap', '&:hover': { textDecoration: 'underline' } }),
  empty: css({ color: theme.colors.text.secondary, padding: theme.spacing(1) }),
});
