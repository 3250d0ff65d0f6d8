/** Key store: the only place that talks to the database (KeyStore facade, connection, dialects, schema). */
export * from './KeyStore';
export * from './connection';
export * from './registry';
