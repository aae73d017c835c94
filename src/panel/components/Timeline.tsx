import React, { type MouseEvent } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { useStyles2, useTheme2 } from '@grafana/ui';

import { describeMarker } from '../replay/describe';
import { formatOffset, markerColor } from '../replay/markers';
import type { Stretch } from '../replay/navigation';
import type { Marker } from '../replay/types';

interface Props {
  start: number;
  end: number;
  current?: number;
  loadedFrom?: number;
  loadedUntil?: number;
  markers: Marker[];
  /** Stretches without user activity, shaded. */
  inactive?: Stretch[];
  onSeek: (ts: number) => void;
}

/** Session timeline: progress, loaded range, inactive stretches (hatched), and markers (errors red, clicks,
 * navigations, requests) that seek. */
export function Timeline({ start, end, current, loadedFrom, loadedUntil, markers, inactive = [], onSeek }: Props) {
  const styles = useStyles2(getStyles);
  const theme = useTheme2();
  const span = Math.max(1, end - start);
  const pct = (ts: number) => `${Math.min(100, Math.max(0, ((ts - start) / span) * 100))}%`;

  const onClick = (e: MouseEvent<HTMLDivElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const ratio = rect.width > 0 ? (e.clientX - rect.left) / rect.width : 0;
    onSeek(start + Math.min(1, Math.max(0, ratio)) * span);
  };

  return (
    <div className={styles.wrap}>
      <div
        className={styles.track}
        data-testid="replay-timeline"
        data-loaded-from={loadedFrom ?? ''}
        data-loaded-until={loadedUntil ?? ''}
        role="slider"
        aria-label="Replay position"
        aria-valuemin={0}
        aria-valuemax={span}
        aria-valuenow={current !== undefined ? current - start : 0}
        tabIndex={0}
        onClick={onClick}
      >
        {loadedFrom !== undefined && loadedUntil !== undefined && (
          <div
            className={styles.loaded}
            style={{ left: pct(loadedFrom), width: `calc(${pct(loadedUntil)} - ${pct(loadedFrom)})` }}
          />
        )}
        {inactive.map((r, i) => (
          <div
            key={`i${i}`}
            className={styles.inactive}
            data-testid="replay-inactive"
            data-from={r.from}
            data-to={r.to}
            title={`inactive ${formatOffset(r.from - start)}–${formatOffset(r.to - start)}`}
            style={{ left: pct(r.from), width: `calc(${pct(r.to)} - ${pct(r.from)})` }}
          />
        ))}
        {current !== undefined && <div className={styles.progress} style={{ width: pct(current) }} />}
        {markers.map((m, i) => (
          <button
            key={i}
            type="button"
            className={styles.marker}
            data-testid="replay-marker"
            data-kind={m.kind}
            data-time={m.time}
            title={`${formatOffset(m.time - start)} ${m.kind}: ${describeMarker(m).label}`}
            aria-label={`${m.kind} ${describeMarker(m).label} at ${formatOffset(m.time - start)}`}
            style={{ left: pct(m.time), background: markerColor(m.kind, theme) }}
            onClick={(e) => {
              e.stopPropagation();
              onSeek(m.time);
            }}
          />
        ))}
      </div>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrap: css({ flex: 1, minWidth: 80, padding: theme.spacing(0.5, 0) }),
  track: css({
    position: 'relative',
    height: 14,
    borderRadius: theme.shape.radius.default,
    background: theme.colors.background.secondary,
    border: `1px solid ${theme.colors.border.weak}`,
    cursor: 'pointer',
  }),
  loaded: css({ position: 'absolute', top: 0, bottom: 0, background: theme.colors.action.hover }),
  inactive: css({
    position: 'absolute',
    top: 0,
    bottom: 0,
    pointerEvents: 'none',
    background: `repeating-linear-gradient(135deg, ${theme.colors.border.medium} 0 3px, transparent 3px 7px)`,
  }),
  progress: css({
    position: 'absolute',
    top: 0,
    bottom: 0,
    left: 0,
    background: theme.colors.primary.transparent,
    borderRight: `2px solid ${theme.colors.primary.main}`,
    pointerEvents: 'none',
  }),
  marker: css({
    position: 'absolute',
    top: -3,
    width: 6,
    height: 18,
    marginLeft: -3,
    border: 'none',
    padding: 0,
    borderRadius: 2,
    cursor: 'pointer',
    opacity: 0.9,
    '&:hover': { opacity: 1, transform: 'scaleX(1.5)' },
  }),
});
