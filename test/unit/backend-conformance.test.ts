// The one conformance suite (backends/conformance.ts), unchanged, against every engine the registry offers.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBackendConformance } from '../../backends/conformance';
import { engines } from '../../backends/registry';

for (const engine of engines()) {
  let dir = '';
  runBackendConformance(
    engine.name,
    () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `ispd-conformance-${engine.name}-`));
      return engine.open({ location: engine.scratchLocation(dir) });
    },
    () => fs.rmSync(dir, { recursive: true, force: true }),
    (options) => engine.open({ ...options, location: engine.scratchLocation(dir) }),
  );
}
