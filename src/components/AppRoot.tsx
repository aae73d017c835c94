import React from 'react';
import { css } from '@emotion/css';
import type { AppRootProps, GrafanaTheme2 } from '@grafana/data';
import { TextLink, useStyles2 } from '@grafana/ui';

/** Landing page of the app: what it contains and where to start. */
export function AppRoot(_props: AppRootProps) {
  const styles = useStyles2(getStyles);
  return (
    <div className={styles.page}>
      <h2>Session Replay</h2>
      <p>
        Browser sessions recorded with rrweb, shipped over OTLP to the OpenTelemetry Collector and stored in ClickHouse.
      </p>
      <ul>
        <li>
          <TextLink href="/d/sessionreplay-sessions">Session replay</TextLink>: sessions table, replay panel, stats.
        </li>
        <li>
          <TextLink href="/d/sessionreplay-errors">Error sessions</TextLink>: sessions with errors and their error
          markers.
        </li>
        <li>
          <TextLink href="/connections/datasources/new">Add a Session Replay data source</TextLink> (plugin id
          seed-sessionreplay-datasource).
        </li>
      </ul>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  page: css({ padding: theme.spacing(2), maxWidth: 900 }),
});
