/** 有赞 (Youzan): push signatures and the API call. */
export * from './sign';
export * from './client';
