// Typed handles on the parts of ldapjs's protocol packages this adapter uses. The packages ship no
// type declarations; declaring just what we call here (instead of an ambient `declare module`) keeps
// other modules free to type them their own way.

/* eslint-disable @typescript-eslint/no-var-requires */

export interface BerReader {
  readonly buffer: Buffer;
  readonly length: number;
  readonly offset: number;
  peek(): number | null;
  readSequence(tag?: number): number | null;
  readString(tag?: number, asBuffer?: false): string | null;
  readString(tag: number, asBuffer: true): Buffer | null;
  readInt(tag?: number): number;
  readEnumeration(): number;
  readBoolean(tag?: number): boolean;
  setOffset(offset: number): void;
}

export interface BerWriter {
  readonly buffer: Buffer;
  startSequence(tag?: number): void;
  endSequence(): void;
  writeString(value: string, tag?: number): void;
  writeBuffer(value: Buffer, tag: number): void;
  writeInt(value: number, tag?: number): void;
  writeEnumeration(value: number, tag?: number): void;
  writeBoolean(value: boolean, tag?: number): void;
}

interface Asn1Module {
  BerReader: new (buffer: Buffer) => BerReader;
  BerWriter: new (options?: { size?: number }) => BerWriter;
}

/** The parts of an @ldapjs/controls control we read or build. */
export interface LdapjsControl {
  type: string;
  criticality: boolean;
  value: unknown;
  toBer(writer?: BerWriter): BerWriter;
}

interface PagedResultsControlClass {
  OID: string;
  new (options: { criticality?: boolean; value?: Buffer | { size: number; cookie: Buffer } }): LdapjsControl & {
    value: { size: number; cookie: Buffer };
  };
}

interface ControlsModule {
  PagedResultsControl: PagedResultsControlClass;
}

export interface LdapjsMessage {
  toBer(): BerReader;
}

interface ResultMessageClass {
  new (options: {
    messageId: number;
    status: number;
    matchedDN?: string;
    diagnosticMessage?: string;
    controls?: LdapjsControl[];
  }): LdapjsMessage;
}

interface ExtensionResponseClass {
  new (options: {
    messageId: number;
    status: number;
    matchedDN?: string;
    diagnosticMessage?: string;
    responseName?: string;
    responseValue?: string;
  }): LdapjsMessage;
}

/** parseToPojo(ber) of a request class: reads the protocolOp and returns its fields. */
type PojoParser<T> = { parseToPojo(ber: BerReader): T };

interface MessagesModule {
  BindResponse: ResultMessageClass;
  SearchResultDone: ResultMessageClass;
  ModifyResponse: ResultMessageClass;
  AddResponse: ResultMessageClass;
  DeleteResponse: ResultMessageClass;
  ModifyDnResponse: ResultMessageClass;
  CompareResponse: ResultMessageClass;
  ExtensionResponse: ExtensionResponseClass;
  CompareRequest: PojoParser<{ entry: string; attribute: string; value: string }>;
  DeleteRequest: PojoParser<{ entry: string }>;
  ModifyDnRequest: PojoParser<{ entry: string; newRdn: string; deleteOldRdn: boolean; newSuperior?: string }>;
  AbandonRequest: PojoParser<{ abandonId: number }>;
}

export const asn1: Asn1Module = require('@ldapjs/asn1');
export const controls: ControlsModule = require('@ldapjs/controls');
export const messages: MessagesModule = require('@ldapjs/messages');
