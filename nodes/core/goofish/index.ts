/** 闲管家 (闲鱼 seller tool, open.goofish.pro): request / push signatures and the signed API call. */
export * from './sign';
export * from './client';
