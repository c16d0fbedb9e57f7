import { parseProxyPath, proxyPathFor } from './route';

describe('proxy path parsing', () => {
  it('splits namespace, service, pod and the pod-side path with its query', () => {
    expect(parseProxyPath('/proxy/shop/cart/cart-0/debug/pprof/profile?seconds=30')).toEqual({
      kind: 'route',
      namespace: 'shop',
      service: 'cart',
      pod: 'cart-0',
      prefix: '/proxy/shop/cart/cart-0',
      upstreamPath: '/debug/pprof/profile?seconds=30',
    });
    expect(parseProxyPath('/proxy/shop/cart/cart-0/')).toMatchObject({
      kind: 'route',
      upstreamPath: '/',
    });
  });

  it('sends the pod root without its slash to the directory form', () => {
    expect(parseProxyPath('/proxy/shop/cart/cart-0?x=1')).toEqual({
      kind: 'add-slash',
      location: '/proxy/shop/cart/cart-0/?x=1',
    });
  });

  it('keeps query strings as they are (they cannot change the route)', () => {
    expect(parseProxyPath('/proxy/a/b/c/x?next=..%2f..%2f')).toMatchObject({
      kind: 'route',
      upstreamPath: '/x?next=..%2f..%2f',
    });
  });

  it.each([
    '/proxy/shop/cart/cart-0/..%2f..%2fdb/db-0/debug/vars',
    '/proxy/shop/cart/cart-0/..%2F..%2Fdb/db-0/debug/vars',
    '/proxy/shop/cart/cart-0/%2e%2e/%2e%2e/db/db-0/debug/vars',
    '/proxy/shop/cart/cart-0/../../db/db-0/debug/vars',
    '/proxy/shop/cart/cart-0/./debug/vars',
    '/proxy/shop/cart/cart-0/debug/..',
    '/proxy/shop/cart/cart-0/..\\..\\db/db-0/',
    '/proxy/shop/cart/cart-0/%5c..%5cdb',
    '/proxy/shop/cart/cart-0/debug%00/vars',
    '/proxy/shop/cart/cart-0/debug vars',
    '/proxy/shop/cart/cart-0/debug/%252e%252e/', // %25 then 2e: decodes once to %2e
    '/proxy/shop/cart/cart-0/%25%32%65%25%32%65/db', // escaped hex digits: %2e after one decoding
    '/proxy/shop/cart/cart-0/debug%25%32%66vars', // → %2f
    '/proxy/shop/cart/cart-0/debug%25%35%43vars', // → %5c
    '/proxy/shop/cart/cart-0/x%25%30%30', // → %00
    '/proxy/shop/cart/cart-0/%2525%2532%2565', // → %25%32%65 → %2e
  ])('refuses traversal %s', (url) => {
    const route = parseProxyPath(url);
    expect(route.kind).toBe('invalid');
  });

  it.each([
    '/proxy/Shop/cart/cart-0/x',
    '/proxy/shop/cart/cart-0@127.0.0.9/x',
    '/proxy/shop/cart:8080/cart-0/x',
    '/proxy/shop//cart-0/x',
    '/proxy/shop/cart',
    '/proxyx/shop/cart/cart-0/x',
    'http://127.0.0.4:8080/debug/vars',
  ])('refuses malformed names %s', (url) => {
    expect(parseProxyPath(url)).toMatchObject({ kind: 'invalid' });
  });

  it('still accepts ordinary escapes', () => {
    expect(parseProxyPath('/proxy/a/b/c/x%20y%41%zz')).toMatchObject({ kind: 'route' });
  });

  it('builds paths for the landing page', () => {
    expect(proxyPathFor({ namespace: 'a', service: 'b', pod: 'c' }, '/debug/vars')).toBe(
      '/proxy/a/b/c/debug/vars',
    );
  });
});
