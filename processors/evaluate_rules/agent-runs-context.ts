/** The context-window table of agent-run detection (core/agent-runs/context-windows.ts). */
export * from '../../core/agent-runs/context-windows';
