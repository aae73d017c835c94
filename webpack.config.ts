// Extends the scaffolded @grafana/create-plugin webpack config (see .config/README.md, "extend the webpack config").
// - copies the logos of the nested data source and panel (the base config only copies the app's logos),
// - tolerates a missing LICENSE / CHANGELOG.md at the repository root.
import CopyWebpackPlugin from 'copy-webpack-plugin';
import type { Configuration } from 'webpack';

import grafanaConfig, { type Env } from './.config/webpack/webpack.config.ts';
import { copyFilePatterns } from './.config/bundler/copyFiles.ts';

const config = async (env: Env): Promise<Configuration> => {
  const base = await grafanaConfig(env);
  const plugins = (base.plugins ?? []).filter((p) => !(p instanceof CopyWebpackPlugin));
  const patterns = copyFilePatterns.map((p) =>
    typeof p.from === 'string' && p.from.startsWith('../') ? { ...p, noErrorOnMissing: true } : p
  );
  plugins.push(
    new CopyWebpackPlugin({
      patterns: [...patterns, { from: '**/img/*.svg', to: '.' }],
    })
  );
  return { ...base, plugins, performance: { hints: false } };
};

export default config;
