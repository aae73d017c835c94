// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  testMatch: [...base.testMatch, '<rootDir>/tests/**/*.test.{js,ts}'],
  transform: {
    ...base.transform,
    // ESM-only dependencies shipped as .mjs (d3-color, ...) need a transform on Node 20
    '^.+\\.mjs$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } }],
  },
};
