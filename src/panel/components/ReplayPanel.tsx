import React, { type KeyboardEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { css, cx } from '@emotion/css';
import type { GrafanaTheme2, PanelProps, SelectableValue } from '@grafana/data';
import { Alert, Button, InlineSwitch, LoadingPlaceholder, RadioButtonGroup, Select, useStyles2 } from '@grafana/ui';

import {
  firstFieldValue,
  resolveDatasourceUid,
  runQuery,
  tracesDatasourceUid,
  variableValue,
  type Range,
} from '../replay/api';
import { formatOffset, framesToMarkers, parseTime } from '../replay/markers';
import { adjacentMarker, keyAction, momentLink } from '../replay/navigation';
import { fitScale } from '../replay/player';
import { mark } from '../replay/timing';
import { trackOptions } from '../replay/tracks';
import type { Marker } from '../replay/types';
import { useReplaySession } from '../replay/useReplaySession';
import { type ReplayOptions, SPEEDS } from '../types';
import { ConsoleList } from './ConsoleList';
import { DetailsDrawer } from './DetailsDrawer';
import { EventList } from './EventList';
import { NetworkList } from './NetworkList';
import { Timeline } from './Timeline';

import 'rrweb/dist/style.css';

export type Props = PanelProps<ReplayOptions> & { fetchImpl?: typeof fetch };

const HEADER = 34;
const FOOTER = 40;
// (the frame gets the rest; tests/panel compare its screenshots at this size)
const EVENTS_WIDTH = 280;

type SideTab = 'events' | 'console' | 'network';

function urlParam(name: string): string | undefined {
  try {
    return new URLSearchParams(window.location.search).get(name) ?? undefined;
  } catch {
    return undefined;
  }
}

export function ReplayPanel(props: Props) {
  const { options, data, replaceVariables, timeRange, fetchImpl } = props;
  // full screen: the panel fills the screen (the browser's Fullscreen API on the panel's root)
  const root = useRef<HTMLDivElement>(null);
  const [fullscreen, setFullscreen] = useState(false);
  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement === root.current && root.current !== null);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);
  const toggleFullscreen = () => {
    if (document.fullscreenElement) {
      void document.exitFullscreen?.();
    } else {
      void root.current?.requestFullscreen?.();
    }
  };
  const width = fullscreen ? window.innerWidth : props.width;
  const height = fullscreen ? window.innerHeight : props.height;
  useState(() => mark('mount'));
  const styles = useStyles2(getStyles);
  const dsUid = useMemo(() => resolveDatasourceUid(options.datasourceUid, data), [options.datasourceUid, data]);
  const range: Range = useMemo(() => ({ from: timeRange.from.valueOf(), to: timeRange.to.valueOf() }), [timeRange]);

  // which session: the panel's picker, then the variable, then the trace variable, then the panel's data
  const [picked, setPicked] = useState<string | undefined>();
  const fromVariable = variableValue(replaceVariables, options.sessionVariable);
  const traceId = variableValue(replaceVariables, options.traceVariable);
  const fromData = firstFieldValue(data, 'session_id');
  const [traced, setTraced] = useState<{ traceId: string; sessionId: string; spanTime?: number; error?: string }>();

  useEffect(() => {
    if (!traceId || !dsUid) {
      return;
    }
    let cancelled = false;
    runQuery(dsUid, { queryType: 'traceSession', traceId }, range)
      .then((frames) => {
        const sessionId = firstFieldValue({ series: frames } as never, 'session_id');
        const spanField = frames[0]?.fields.find((f) => f.name === 'span_time');
        const spanTime = spanField ? Number(new Date(spanField.values[0] as number).valueOf()) : undefined;
        if (!cancelled) {
          setTraced(
            sessionId
              ? { traceId, sessionId, spanTime }
              : { traceId, sessionId: '', error: 'No session for this trace.' }
          );
        }
      })
      .catch((e: Error) => !cancelled && setTraced({ traceId, sessionId: '', error: e.message }));
    return () => {
      cancelled = true;
    };
  }, [traceId, dsUid, range]);

  const tracedNow = traceId && traced?.traceId === traceId ? traced : undefined;
  const sessionId = picked ?? fromVariable ?? (tracedNow?.sessionId || undefined) ?? fromData;
  const replayTime =
    parseTime(variableValue(replaceVariables, options.timeVariable)) ?? parseTime(urlParam('var-replay_time'));
  const startAt =
    replayTime ??
    (tracedNow && tracedNow.sessionId === sessionId && tracedNow.spanTime ? tracedNow.spanTime : undefined);

  // the user's choices win until the panel option they were made against changes
  const [speedChoice, setSpeedChoice] = useState<{ option: number; value: number }>();
  const [skipChoice, setSkipChoice] = useState<{ option: boolean; value: boolean }>();
  const speed = speedChoice && speedChoice.option === options.speed ? speedChoice.value : options.speed || 1;
  const skipInactive =
    skipChoice && skipChoice.option === options.skipInactive ? skipChoice.value : options.skipInactive;
  const setSpeed = (value: number) => setSpeedChoice({ option: options.speed, value });
  const setSkipInactive = (value: boolean) => setSkipChoice({ option: options.skipInactive, value });

  // which track of the session (documents recorded at once each have their own): the top page's until the user
  // picks another for this session
  const [trackChoice, setTrackChoice] = useState<{ sessionId: string; track: number }>();
  const track = trackChoice && trackChoice.sessionId === sessionId ? trackChoice.track : 0;

  const stage = useRef<HTMLDivElement>(null);
  const { state, play, pause, seek, goLive } = useReplaySession({
    dsUid,
    sessionId,
    track,
    startAt,
    container: stage,
    speed,
    skipInactive,
    autoPlay: options.autoPlay,
    fetchImpl,
  });

  // timeline markers, from a `markers` query of the data source
  const [markerState, setMarkerState] = useState<{ sessionId: string; markers: Marker[]; error?: string }>();
  const markers = useMemo(
    () => (markerState && markerState.sessionId === sessionId ? markerState.markers : []),
    [markerState, sessionId]
  );
  const markersError = markerState && markerState.sessionId === sessionId ? markerState.error : undefined;
  const metaStart = state.meta?.start;
  const metaEnd = state.meta?.end;
  useEffect(() => {
    if (!dsUid || !sessionId) {
      return;
    }
    let cancelled = false;
    const r = {
      from: Math.min(range.from, metaStart ?? range.from),
      to: Math.max(range.to, metaEnd ?? range.to),
    };
    runQuery(dsUid, { queryType: 'markers', sessionId }, r)
      .then((frames) => !cancelled && setMarkerState({ sessionId, markers: framesToMarkers(frames) }))
      .catch((e: Error) => !cancelled && setMarkerState({ sessionId, markers: [], error: e.message }));
    return () => {
      cancelled = true;
    };
  }, [dsUid, sessionId, range, metaStart, metaEnd]);

  const consoleEntries = useMemo(() => markers.filter((m) => m.kind === 'console'), [markers]);
  const requests = useMemo(() => markers.filter((m) => m.kind === 'request'), [markers]);
  const [tab, setTab] = useState<SideTab>('events');
  const [detailsOpen, setDetailsOpen] = useState(false);
  const [link, setLink] = useState<{ url: string; copied: boolean }>();

  const now = state.current ?? state.meta?.start;
  const prevError = now !== undefined ? adjacentMarker(markers, now, -1) : undefined;
  const nextError = now !== undefined ? adjacentMarker(markers, now, 1) : undefined;

  const copyLink = () => {
    if (!sessionId || now === undefined) {
      return;
    }
    const url = momentLink(window.location.href, options.sessionVariable, sessionId, options.timeVariable, now);
    setLink({ url, copied: false });
    navigator.clipboard
      ?.writeText(url)
      .then(() => setLink({ url, copied: true }))
      .catch(() => setLink({ url, copied: false }));
  };

  const onKeyDown = useCallback(
    (e: KeyboardEvent<HTMLDivElement>) => {
      const target = e.target as HTMLElement;
      if (e.altKey || e.ctrlKey || e.metaKey || target.closest('input, textarea, select, [contenteditable=true]')) {
        return;
      }
      const action = keyAction(e.key, SPEEDS);
      if (!action || !state.ready) {
        return;
      }
      e.preventDefault();
      if (action.type === 'toggle') {
        (state.playing ? pause : play)();
      } else if (action.type === 'step') {
        seek((state.current ?? start) + action.ms);
      } else {
        setSpeed(action.speed);
      }
    },
    // setSpeed and start change with the render; the handler is cheap to recreate
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [state.ready, state.playing, state.current, play, pause, seek, options.speed]
  );

  // sessions for the picker
  const [sessions, setSessions] = useState<Array<SelectableValue<string>>>([]);
  const [sessionsLoading, setSessionsLoading] = useState(false);
  const loadSessions = () => {
    if (!dsUid) {
      return;
    }
    setSessionsLoading(true);
    runQuery(dsUid, { queryType: 'sessions', limit: 200, orderBy: 'start', orderDir: 'desc' }, range)
      .then((frames) => {
        const f = frames[0];
        const ids = f?.fields.find((x) => x.name === 'session_id')?.values ?? [];
        const urls = f?.fields.find((x) => x.name === 'entry_url')?.values ?? [];
        const starts = f?.fields.find((x) => x.name === 'start')?.values ?? [];
        setSessions(
          ids.map((id, i) => ({
            value: String(id),
            label: String(id),
            description: [starts[i] ? new Date(starts[i] as number).toISOString() : '', urls[i] ?? '']
              .filter(Boolean)
              .join(' '),
          }))
        );
      })
      .catch(() => setSessions([]))
      .finally(() => setSessionsLoading(false));
  };

  const tracks = trackOptions(state.meta);
  const tracesUid = useMemo(() => tracesDatasourceUid(dsUid), [dsUid]);
  const showEvents = options.showEvents && width >= 560;
  const frameBox = {
    width: Math.max(0, width - (showEvents ? EVENTS_WIDTH + 8 : 0)),
    height: Math.max(0, height - HEADER - FOOTER),
  };
  const viewport = state.viewport;
  const scale = viewport ? fitScale(viewport, frameBox) : 1;
  const start = state.meta?.start ?? state.loadedFrom ?? 0;
  const end = state.meta?.end ?? state.loadedUntil ?? start;

  if (!dsUid) {
    return (
      <div className={styles.empty}>
        No Session Replay data source found: add one, or choose it in the panel options.
      </div>
    );
  }

  return (
    <div
      ref={root}
      className={styles.root}
      style={{ width, height }}
      data-testid="replay-panel"
      data-fullscreen={fullscreen ? 'true' : 'false'}
      tabIndex={0}
      onKeyDown={onKeyDown}
      aria-label="Session replay (space: play/pause, arrows: 5 s back/forward, 1–4: speed)"
    >
      <div className={styles.header} style={{ height: HEADER }}>
        {options.showPicker && (
          <Select
            aria-label="Session"
            width={30}
            isLoading={sessionsLoading}
            placeholder="Pick a session"
            value={sessionId ? { value: sessionId, label: sessionId } : null}
            options={sessions}
            allowCustomValue
            onOpenMenu={loadSessions}
            onChange={(v) => setPicked(v?.value)}
          />
        )}
        {tracks.length > 0 && sessionId && (
          <span data-testid="replay-tracks">
            <RadioButtonGroup
              size="sm"
              options={tracks}
              value={track}
              onChange={(t) => setTrackChoice({ sessionId, track: t })}
            />
          </span>
        )}
        <span className={styles.url} title={state.url} data-testid="replay-url">
          {state.url ?? ''}
        </span>
        {viewport && (
          <span className={styles.muted} data-testid="replay-viewport">
            {viewport.width}×{viewport.height} @ {Math.round(scale * 100)}%
          </span>
        )}
        {state.live && (
          <Button
            size="sm"
            variant={state.following ? 'destructive' : 'secondary'}
            fill={state.following ? 'solid' : 'outline'}
            icon={state.following ? 'circle' : 'arrow-to-right'}
            data-testid="replay-live"
            data-following={state.following ? 'true' : 'false'}
            tooltip={
              state.following ? 'Following the session as it is recorded' : 'Jump to the newest moment and follow'
            }
            onClick={goLive}
          >
            {state.following ? 'Live' : 'Go live'}
          </Button>
        )}
        {sessionId && (
          <Button
            size="sm"
            variant="secondary"
            fill="text"
            icon="share-alt"
            aria-label="Copy link at this moment"
            tooltip="Copy link at this moment"
            data-testid="replay-copy-link"
            disabled={now === undefined}
            onClick={copyLink}
          />
        )}
        {sessionId && (
          <Button
            size="sm"
            variant="secondary"
            fill="text"
            icon="info-circle"
            aria-label="Session details"
            tooltip="Session details"
            data-testid="replay-details-toggle"
            onClick={() => setDetailsOpen((o) => !o)}
          />
        )}
        <Button
          size="sm"
          variant="secondary"
          fill="text"
          icon={fullscreen ? 'times' : 'monitor'}
          aria-label={fullscreen ? 'Exit full screen' : 'Full screen'}
          tooltip={fullscreen ? 'Exit full screen' : 'Full screen'}
          data-testid="replay-fullscreen"
          onClick={toggleFullscreen}
        />
      </div>
      {link && (
        <div className={styles.link} data-testid="replay-link-bar">
          <span>{link.copied ? 'Link copied:' : 'Link at this moment:'}</span>
          <input readOnly value={link.url} data-testid="replay-link" onFocus={(e) => e.currentTarget.select()} />
          <Button
            size="sm"
            variant="secondary"
            fill="text"
            icon="times"
            aria-label="Close link"
            onClick={() => setLink(undefined)}
          />
        </div>
      )}

      <div className={styles.body} style={{ height: frameBox.height }}>
        <div
          className={styles.frame}
          style={{ width: frameBox.width, height: frameBox.height }}
          data-testid="replay-frame"
        >
          <div
            ref={stage}
            className={styles.stage}
            style={
              viewport
                ? {
                    width: viewport.width,
                    height: viewport.height,
                    transform: `scale(${scale})`,
                    left: Math.max(0, (frameBox.width - viewport.width * scale) / 2),
                    top: Math.max(0, (frameBox.height - viewport.height * scale) / 2),
                  }
                : undefined
            }
          />
          {!sessionId && (
            <div className={styles.overlay}>
              {tracedNow?.error ??
                'No session selected: set the $session variable, click a session in the sessions table, or pick one above.'}
            </div>
          )}
          {sessionId && state.loading && !state.ready && (
            <div className={styles.overlay}>
              <LoadingPlaceholder text="Loading recording…" />
            </div>
          )}
          {sessionId && state.error && (
            <div className={styles.overlay}>
              <Alert title="Cannot replay this session" severity="error">
                {state.error}
              </Alert>
            </div>
          )}
        </div>
        {showEvents && (
          <div className={styles.events} style={{ width: EVENTS_WIDTH }}>
            {/* a compact tab row: Grafana's TabsBar is sized for page-wide bars, three of its tabs with counters
                do not fit the side column */}
            <div className={styles.tabs} role="tablist" aria-label="Session lists">
              {(
                [
                  ['events', 'Events', markers.length],
                  ['console', 'Console', consoleEntries.length],
                  ['network', 'Network', requests.length],
                ] as Array<[SideTab, string, number]>
              ).map(([id, label, count]) => (
                <button
                  key={id}
                  type="button"
                  role="tab"
                  aria-selected={tab === id}
                  className={cx(styles.tab, tab === id && styles.tabActive)}
                  data-testid={`replay-tab-${id}`}
                  onClick={() => setTab(id)}
                >
                  {label} <span className={styles.counter}>{count}</span>
                </button>
              ))}
            </div>
            <div className={styles.tabBody}>
              {markersError ? (
                <Alert title="Markers" severity="warning">
                  {markersError}
                </Alert>
              ) : tab === 'console' ? (
                <ConsoleList start={start} entries={consoleEntries} onSeek={seek} />
              ) : tab === 'network' ? (
                <NetworkList
                  start={start}
                  current={state.current}
                  requests={requests}
                  tracesUid={tracesUid}
                  range={range}
                  onSeek={seek}
                />
              ) : (
                <EventList
                  start={start}
                  current={state.current}
                  markers={markers}
                  tracesUid={tracesUid}
                  range={range}
                  onSeek={seek}
                />
              )}
            </div>
          </div>
        )}
        {detailsOpen && sessionId && (
          <DetailsDrawer dsUid={dsUid} sessionId={sessionId} range={range} onClose={() => setDetailsOpen(false)} />
        )}
      </div>

      <div className={styles.footer} style={{ height: FOOTER }}>
        <Button
          size="sm"
          variant="secondary"
          fill="text"
          icon="arrow-from-right"
          aria-label="Previous error"
          tooltip="Previous error"
          data-testid="replay-prev-error"
          disabled={!prevError}
          onClick={() => prevError && seek(prevError.time)}
        />
        <Button
          size="sm"
          variant="secondary"
          icon={state.playing ? 'pause' : 'play'}
          aria-label={state.playing ? 'Pause' : 'Play'}
          data-testid="replay-play"
          disabled={!state.ready}
          onClick={state.playing ? pause : play}
        />
        <Button
          size="sm"
          variant="secondary"
          fill="text"
          icon="arrow-to-right"
          aria-label="Next error"
          tooltip="Next error"
          data-testid="replay-next-error"
          disabled={!nextError}
          onClick={() => nextError && seek(nextError.time)}
        />
        <span className={styles.time} data-testid="replay-current-time" data-ms={state.current ?? ''}>
          {formatOffset((state.current ?? start) - start)} / {formatOffset(end - start)}
        </span>
        <Timeline
          start={start}
          end={end}
          current={state.current}
          loadedFrom={state.loadedFrom}
          loadedUntil={state.loadedUntil}
          markers={markers}
          inactive={state.inactive}
          onSeek={seek}
        />
        <RadioButtonGroup
          size="sm"
          options={SPEEDS.map((s) => ({ label: `${s}x`, value: s, ariaLabel: `Speed ${s}x` }))}
          value={speed}
          onChange={setSpeed}
        />
        <InlineSwitch
          label="Skip inactivity"
          showLabel
          transparent
          data-testid="replay-skip"
          value={skipInactive}
          onChange={(e) => setSkipInactive(e.currentTarget.checked)}
        />
      </div>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  root: css({
    display: 'flex',
    flexDirection: 'column',
    overflow: 'hidden',
    color: theme.colors.text.primary,
    background: theme.colors.background.primary,
    '&:focus': { outline: 'none' },
    '&:focus-visible': { outline: `1px solid ${theme.colors.primary.border}` },
  }),
  header: css({ display: 'flex', alignItems: 'center', gap: theme.spacing(1), minWidth: 0 }),
  url: css({
    flex: 1,
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    whiteSpace: 'nowrap',
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  muted: css({
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
    whiteSpace: 'nowrap',
  }),
  body: css({ display: 'flex', gap: theme.spacing(1), position: 'relative' }),
  // three tabs with counters in the narrow side column: Grafana's tab padding is for page-wide bars
  tabs: css({ display: 'flex', height: 32, borderBottom: `1px solid ${theme.colors.border.weak}` }),
  tab: css({
    flex: 1,
    background: 'none',
    border: 'none',
    borderBottom: '2px solid transparent',
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
    cursor: 'pointer',
    whiteSpace: 'nowrap',
    '&:hover': { color: theme.colors.text.primary },
  }),
  tabActive: css({ color: theme.colors.text.primary, borderBottomColor: theme.colors.primary.main }),
  counter: css({
    padding: theme.spacing(0, 0.5),
    borderRadius: theme.shape.radius.pill,
    background: theme.colors.background.secondary,
    color: theme.colors.text.secondary,
  }),
  tabBody: css({ height: 'calc(100% - 32px)', overflow: 'auto' }),
  link: css({
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(1),
    fontSize: theme.typography.bodySmall.fontSize,
    input: { flex: 1, fontFamily: theme.typography.fontFamilyMonospace, fontSize: theme.typography.bodySmall.fontSize },
  }),
  frame: css({
    position: 'relative',
    overflow: 'hidden',
    background: theme.colors.background.canvas,
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
  }),
  stage: css({
    position: 'absolute',
    transformOrigin: '0 0',
    background: '#fff',
    boxShadow: theme.shadows.z2,
    '.replayer-wrapper': { position: 'relative' },
    iframe: { border: 'none', display: 'block', pointerEvents: 'none' },
  }),
  overlay: css({
    position: 'absolute',
    inset: 0,
    display: 'flex',
    alignItems: 'center',
    justifyContent: 'center',
    padding: theme.spacing(2),
    color: theme.colors.text.secondary,
    textAlign: 'center',
    background: theme.colors.background.canvas,
  }),
  events: css({
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    background: theme.colors.background.primary,
    overflow: 'hidden',
  }),
  footer: css({ display: 'flex', alignItems: 'center', gap: theme.spacing(1) }),
  time: css({
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    whiteSpace: 'nowrap',
  }),
  empty: css({ padding: theme.spacing(2), color: theme.colors.text.secondary }),
});
