import { z } from 'zod';
import { linearRegexProblem } from '../../core/linear-regex';

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

const priceOverrideSchema = z
  .strictObject({
    /** Model name, matched exactly or as a regular expression over the whole (normalized) name. */
    model: z
      .string()
      .min(1)
      .refine(compiles, { message: 'model is not a valid regular expression' })
      // Matched against client model names: it runs on the linear-time engine (RE2).
      .superRefine((pattern, ctx) => {
        const problem = compiles(pattern) ? linearRegexProblem(pattern, 'i') : undefined;
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `model ${problem}` });
      }),
    /** Only spans of this workspace. */
    workspace: z.string().min(1).optional(),
    /** Only spans of this project (within `workspace`). */
    project: z.string().min(1).optional(),
    input_per_mtok: z.number().nonnegative(),
    output_per_mtok: z.number().nonnegative(),
    /** Price of cached input tokens; the input price when not given (no cache discount). */
    cached_input_per_mtok: z.number().nonnegative().optional(),
  })
  // A project name is only unique inside its workspace, so a project-only scope would silently
  // price several tenants' projects alike.
  .refine((o) => o.project === undefined || o.workspace !== undefined, {
    message: 'project needs workspace (a project is named within a workspace)',
    path: ['project'],
  });

export const enrichProcessorConfigSchema = z.strictObject({
  /** tracehouse.workspace for spans that carry none (on the span or its resource). */
  workspace: z.string().min(1).optional(),
  /** tracehouse.project for spans that carry none and whose resource has no service.name. */
  project: z.string().min(1).optional(),
  /** tracehouse.environment for spans that carry none and whose resource names no deployment environment. */
  environment: z.string().min(1).optional(),
  /** Price spans from the built-in catalog (prices.json); overrides apply either way. */
  catalog: z.boolean().default(true),
  /** Prices that replace the catalog's, optionally per workspace or project. */
  price_overrides: z.array(priceOverrideSchema).default([]),
});

export type EnrichProcessorConfig = z.output<typeof enrichProcessorConfigSchema>;
export type PriceOverrideConfig = EnrichProcessorConfig['price_overrides'][number];
