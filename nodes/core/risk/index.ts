/** Risk Check: rules, decisions, the risk log. */
export * from './risk';
