/**
 * Agent-run detection lives in core/agent-runs/ (the read APIs run it over stored traces too);
 * this processor applies it to every batch.
 */
export * from '../../core/agent-runs/detector';
