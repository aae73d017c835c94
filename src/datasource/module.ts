import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import type { SessionReplayOptions, SessionReplayQuery, SessionReplaySecureJsonData } from './types';

export const plugin = new DataSourcePlugin<DataSource, SessionReplayQuery, SessionReplayOptions, SessionReplaySecureJsonData>(
  DataSource
)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
