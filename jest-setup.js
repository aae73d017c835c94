// Jest setup provided by Grafana scaffolding (browser globals): only for the jsdom environment; suites that declare
// `@jest-environment node` (stream parsing, provisioning) run without it.
if (typeof window !== 'undefined') {
  require('./.config/jest-setup');
}
