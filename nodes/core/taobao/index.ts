/** Taobao / Tmall (TOP): request signing, the router client, trades → canonical orders, and the polling machinery. */
export * from './sign';
export * from './client';
export * from './trades';
export * from './poll';
export * from './orders';
