// The callback sender lives in core: the processor posts evaluations with it and offers it to the
// read API (capability decisionCallbacks), so decisions go out with the same secret and guards.
export { CALLBACK_EVENTS, CALLBACK_URL, CallbackSender, callbacksConfigSchema, type CallbacksConfig } from '../../core/callbacks/sender';
