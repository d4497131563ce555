/** Outbound HTTP for components: SSRF-safe, optionally signed, retried in the background. */
export { addressAllowed, classifyAddress, type AddressClass } from './address-policy';
export { outboundConfigSchema, outboundConfigShape, type OutboundConfig } from './config';
export { DeliveryQueue, type DeliveryOutcome, type DeliveryQueueOptions } from './delivery-queue';
export { OutboundError, retryableStatus, type OutboundErrorCode } from './outbound-error';
export { postJson, type PostJsonOptions } from './post-json';
export { OUTBOUND_SIGNATURE_HEADER, OUTBOUND_TIMESTAMP_HEADER, signatureFor, signatureHeaders } from './signature';
