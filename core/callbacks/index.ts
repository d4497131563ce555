/** Callbacks to the URLs logs name: which events fire, their bodies, and the signed, SSRF-safe sender. */
export * from './events';
export * from './payload';
export * from './sender';
