// Values derived from a shared, frozen object (the state cache's in-memory user, the JWT strategy's
// in-memory caller) never change while that object lives, so they are made once per object; any
// other object gets a fresh one. Used for the answers of the token-check routes.

/** `derive(source)`, made once per frozen `source` (kept in `memo`, frozen too); fresh otherwise. */
export function derivedOnce<K extends object, V extends object>(
  memo: WeakMap<K, Readonly<V>>,
  source: K,
  derive: (source: K) => V,
): V {
  if (!Object.isFrozen(source)) return derive(source);
  let value = memo.get(source);
  if (!value) memo.set(source, (value = Object.freeze(derive(source))));
  return value;
}
