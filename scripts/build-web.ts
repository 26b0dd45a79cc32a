// `npm run build:web`: the dashboard into web/dist (see scripts/lib/web.ts). `--types` only generates the
// API types, for typechecking web/ without a full build.
import { buildWeb, generateApiTypes } from './lib/web';

const typesOnly = process.argv.includes('--types');
(typesOnly ? generateApiTypes() : buildWeb()).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`Building the dashboard failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
