// The package ships no type declarations. It exports one function: DES crypt(3) of a key given as a
// string of byte values (one char per byte) and a two-character salt.
declare module 'unix-crypt-td-js' {
  function unixCryptTD(key: string, salt: string): string;
  export = unixCryptTD;
}
