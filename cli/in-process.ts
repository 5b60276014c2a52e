/**
 * The day runner that chains the three Lambda handlers in this process.
 */
import type { Config } from '../shared/config.js';
import { ReadableLogger } from '../shared/log.js';
import { createExtractHandler } from '../functions/extract/handler.js';
import { createTransformWriteHandler } from '../functions/transform-write/handler.js';
import { createValidateHandler } from '../functions/validate/handler.js';
import type { ExtractOutput } from '../shared/events.js';
import type { TransformResult } from '../shared/transform.js';
import type { DayOutcome, DayRunner } from './run-days.js';

export function inProcessRunner(config: Config): DayRunner {
  const extract = createExtractHandler(config, () => new ReadableLogger('extract'));
  const transform = createTransformWriteHandler(config, () => new ReadableLogger('transform-write'));
  const validate = createValidateHandler(config, () => new ReadableLogger('validate'));
  return async ({ date, mode }) => {
    const started = performance.now();
    let extracted: ExtractOutput | undefined;
    let written: TransformResult | undefined;
    const seconds = () => (performance.now() - started) / 1000;
    try {
      extracted = await extract({ date, mode });
      written = await transform(extracted);
      const published = await validate(written);
      return {
        date,
        verdict: 'passed',
        sourceRows: published.sourceCount,
        writtenRows: published.rows,
        quarantined: published.quarantined,
        files: published.files,
        bytes: published.bytes,
        seconds: seconds(),
        note: published.warnings.length > 0 ? `${published.warnings.length} warning(s)` : undefined,
      } satisfies DayOutcome;
    } catch (error) {
      return {
        date,
        verdict: 'failed',
        sourceRows: extracted?.sourceCount,
        writtenRows: written?.metrics.rows,
        quarantined: written?.metrics.quarantined,
        files: written?.files.length,
        seconds: seconds(),
        error: `${(error as Error).name}: ${(error as Error).message}`,
      };
    }
  };
}
