/** Intake: the canonical order, exact JSON, signatures and the webhook decision. */
export * from './json';
export * from './order';
export * from './signature';
export * from './webhook';
