import { randomBytes } from 'node:crypto';
import { person } from '../kit/seed';

// One Outlook mailbox as Exchange keeps it: contact folders, contacts as Graph returns them, and a change log
// from which delta rounds are answered. Plain in-memory state; the HTTP layer is in server.ts.

export interface EmailAddress {
  name: string | null;
  address: string | null;
}
export interface PhysicalAddress {
  street?: string | null;
  city?: string | null;
  state?: string | null;
  postalCode?: string | null;
  countryOrRegion?: string | null;
}

/** A contact exactly as the sandbox stores and serves it (Graph v1.0 property names). */
export interface StoredContact {
  id: string;
  changeKey: string;
  parentFolderId: string;
  createdDateTime: string;
  lastModifiedDateTime: string;
  categories: string[];
  displayName: string | null;
  fileAs: string | null;
  givenName: string | null;
  middleName: string | null;
  surname: string | null;
  nickName: string | null;
  title: string | null;
  initials: string | null;
  generation: string | null;
  companyName: string | null;
  jobTitle: string | null;
  department: string | null;
  officeLocation: string | null;
  profession: string | null;
  businessHomePage: string | null;
  assistantName: string | null;
  manager: string | null;
  spouseName: string | null;
  personalNotes: string | null;
  birthday: string | null;
  mobilePhone: string | null;
  businessPhones: string[];
  homePhones: string[];
  imAddresses: string[];
  children: string[];
  emailAddresses: EmailAddress[];
  businessAddress: PhysicalAddress;
  homeAddress: PhysicalAddress;
  otherAddress: PhysicalAddress;
}

export type ContactInput = Partial<Omit<StoredContact, 'id' | 'changeKey' | 'parentFolderId' | 'createdDateTime' | 'lastModifiedDateTime'>>;

export interface StoredFolder {
  id: string;
  displayName: string;
  parentFolderId: string;
}

/** A Graph error: the status and the { error: { code, message } } body the HTTP layer sends. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const STRING_PROPS = [
  'displayName', 'fileAs', 'givenName', 'middleName', 'surname', 'nickName', 'title', 'initials', 'generation',
  'companyName', 'jobTitle', 'department', 'officeLocation', 'profession', 'businessHomePage', 'assistantName',
  'manager', 'spouseName', 'personalNotes', 'birthday', 'mobilePhone',
] as const;
export const STRING_LIST_PROPS = ['categories', 'businessPhones', 'homePhones', 'imAddresses', 'children'] as const;
export const ADDRESS_PROPS = ['businessAddress', 'homeAddress', 'otherAddress'] as const;
const ADDRESS_KEYS = ['street', 'city', 'state', 'postalCode', 'countryOrRegion'] as const;
const READ_ONLY_PROPS = ['id', 'changeKey', 'parentFolderId', 'createdDateTime', 'lastModifiedDateTime', '@odata.etag', '@odata.type'];

export interface MailboxConfig {
  /**
   * Whether PATCH and DELETE check If-Match against the change key (412 ErrorIrresolvableConflict). The reference
   * notes could not confirm it for contacts, so it is a knob; on by default.
   */
  enforceIfMatch: boolean;
  /** Whether an email address that is not a valid SMTP address is refused with 400 ErrorInvalidProperty. */
  rejectMalformedEmails: boolean;
  /** Entries kept in the change log; delta tokens older than the kept log answer 410. */
  changeLogLimit: number;
}

interface LogEntry {
  seq: number;
  id: string;
}

const newId = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;
const newChangeKey = () => randomBytes(12).toString('base64');
// Lenient on purpose: what Exchange stores as an SMTP address, not the full RFC 5322 grammar.
const SMTP = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;

export const etagOf = (c: { changeKey: string }): string => `W/"${c.changeKey}"`;

export class Mailbox {
  readonly defaultFolderId = newId('AAMkADefault');
  readonly rootFolderId = newId('AAMkARoot');
  private folders = new Map<string, StoredFolder>();
  private contacts = new Map<string, StoredContact>();
  private log: LogEntry[] = [];
  private seq = 0;
  /** Delta tokens carry the epoch; expiring them is moving to a new one. */
  epoch = 1;
  config: MailboxConfig;
  private seeded = 0;

  constructor(
    readonly name: string,
    config: Partial<MailboxConfig> = {},
  ) {
    this.config = { enforceIfMatch: true, rejectMalformedEmails: true, changeLogLimit: 100_000, ...config };
  }

  // ---- folders -------------------------------------------------------------------------------------------

  /** The folders GET /me/contactFolders lists: the default Contacts folder's sub-folders. */
  listFolders(): StoredFolder[] {
    return [...this.folders.values()];
  }

  folder(id: string): StoredFolder | undefined {
    if (id === this.defaultFolderId) return { id, displayName: 'Contacts', parentFolderId: this.rootFolderId };
    return this.folders.get(id);
  }

  createFolder(displayName: string): StoredFolder {
    const name = displayName.trim();
    if (!name) throw new GraphError(400, 'ErrorInvalidRequest', 'The folder name cannot be empty.');
    if ([...this.folders.values()].some((f) => f.displayName.toLowerCase() === name.toLowerCase())) {
      throw new GraphError(409, 'ErrorFolderExists', 'A folder with the specified name already exists.');
    }
    const folder = { id: newId('AAMkAFolder'), displayName: name, parentFolderId: this.defaultFolderId };
    this.folders.set(folder.id, folder);
    return folder;
  }

  // ---- contacts ------------------------------------------------------------------------------------------

  /** Contacts as the app stores them, in one folder or all. */
  all(folderId?: string): StoredContact[] {
    return [...this.contacts.values()].filter((c) => !folderId || c.parentFolderId === folderId).map((c) => structuredClone(c));
  }

  count(folderId?: string): number {
    return this.all(folderId).length;
  }

  get(id: string): StoredContact | undefined {
    const c = this.contacts.get(id);
    return c ? structuredClone(c) : undefined;
  }

  create(input: ContactInput, folderId: string = this.defaultFolderId): StoredContact {
    if (!this.folder(folderId)) throw notFound();
    const now = new Date().toISOString();
    const contact: StoredContact = {
      id: newId('AAMkAContact'),
      changeKey: newChangeKey(),
      parentFolderId: folderId,
      createdDateTime: now,
      lastModifiedDateTime: now,
      categories: [],
      displayName: null,
      fileAs: null,
      givenName: null,
      middleName: null,
      surname: null,
      nickName: null,
      title: null,
      initials: null,
      generation: null,
      companyName: null,
      jobTitle: null,
      department: null,
      officeLocation: null,
      profession: null,
      businessHomePage: null,
      assistantName: null,
      manager: null,
      spouseName: null,
      personalNotes: null,
      birthday: null,
      mobilePhone: null,
      businessPhones: [],
      homePhones: [],
      imAddresses: [],
      children: [],
      emailAddresses: [],
      businessAddress: {},
      homeAddress: {},
      otherAddress: {},
    };
    this.apply(contact, input);
    if (!contact.displayName) contact.displayName = composeName(contact);
    this.contacts.set(contact.id, contact);
    this.record(contact.id);
    return structuredClone(contact);
  }

  /** A user's or an API client's edit: the given properties replace the stored ones (lists and addresses whole). */
  update(id: string, input: ContactInput, ifMatch?: string): StoredContact {
    const contact = this.contacts.get(id);
    if (!contact) throw notFound();
    this.checkIfMatch(contact, ifMatch);
    const nameBefore = composeName(contact);
    this.apply(contact, input);
    // Outlook files a contact under its name parts unless someone typed another display name.
    if (input.displayName === undefined && contact.displayName === nameBefore) contact.displayName = composeName(contact);
    contact.changeKey = newChangeKey();
    contact.lastModifiedDateTime = new Date().toISOString();
    this.record(id);
    return structuredClone(contact);
  }

  remove(id: string, ifMatch?: string): void {
    const contact = this.contacts.get(id);
    if (!contact) throw notFound();
    this.checkIfMatch(contact, ifMatch);
    this.contacts.delete(id);
    this.record(id);
  }

  /** What a user moving a contact to another folder does; delta of the old folder reports it removed. */
  move(id: string, folderId: string): StoredContact {
    const contact = this.contacts.get(id);
    if (!contact || !this.folder(folderId)) throw notFound();
    contact.parentFolderId = folderId;
    contact.changeKey = newChangeKey();
    this.record(id);
    return structuredClone(contact);
  }

  /** Adds realistic people (sandboxes/kit/seed.ts): person i is the same person in every app's sandbox. */
  seed(options: { count: number; start?: number; seed?: number; folderId?: string }): StoredContact[] {
    const start = options.start ?? this.seeded;
    const made: StoredContact[] = [];
    for (let i = 0; i < options.count; i++) made.push(this.create(fromPerson(person(start + i, options.seed ?? 1)), options.folderId));
    this.seeded = Math.max(this.seeded, start + options.count);
    return made;
  }

  // ---- change tracking -----------------------------------------------------------------------------------

  get latestSeq(): number {
    return this.seq;
  }

  /** The oldest sequence number a delta token may start from and still be answered. */
  get oldestSeq(): number {
    return this.log.length > 0 ? this.log[0].seq - 1 : this.seq;
  }

  /** Ids changed after `from` up to `upto`, each once, in the order of their last change. */
  changedBetween(from: number, upto: number): string[] {
    const last = new Map<string, number>();
    for (const entry of this.log) if (entry.seq > from && entry.seq <= upto) last.set(entry.id, entry.seq);
    return [...last.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
  }

  expireDeltaTokens(): void {
    this.epoch++;
  }

  private record(id: string): void {
    this.log.push({ seq: ++this.seq, id });
    if (this.log.length > this.config.changeLogLimit) this.log.splice(0, this.log.length - this.config.changeLogLimit);
  }

  private checkIfMatch(contact: StoredContact, ifMatch: string | undefined): void {
    if (!this.config.enforceIfMatch || ifMatch === undefined || ifMatch === '*') return;
    const wanted = ifMatch.replace(/^W\//, '').replace(/^"|"$/g, '');
    if (wanted !== contact.changeKey) {
      throw new GraphError(
        412,
        'ErrorIrresolvableConflict',
        'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
      );
    }
  }

  /** Validates and applies a body as Graph would, property by property. */
  private apply(contact: StoredContact, input: ContactInput): void {
    const body = input as Record<string, unknown>;
    for (const [key, value] of Object.entries(body)) {
      if (READ_ONLY_PROPS.includes(key) || value === undefined) continue;
      const target = contact as unknown as Record<string, unknown>;
      if ((STRING_PROPS as readonly string[]).includes(key)) {
        if (value !== null && typeof value !== 'string') throw literal(value, 'Edm.String');
        target[key] = value === '' ? null : value;
      } else if ((STRING_LIST_PROPS as readonly string[]).includes(key)) {
        if (value === null) target[key] = [];
        else if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw literal(value, 'Collection(Edm.String)');
        else target[key] = [...value];
      } else if ((ADDRESS_PROPS as readonly string[]).includes(key)) {
        if (value === null) target[key] = {};
        else if (typeof value !== 'object' || Array.isArray(value)) throw literal(value, 'microsoft.graph.physicalAddress');
        else {
          const address: PhysicalAddress = {};
          for (const [part, v] of Object.entries(value as Record<string, unknown>)) {
            if (!(ADDRESS_KEYS as readonly string[]).includes(part)) throw unknownProperty(part, 'microsoft.graph.physicalAddress');
            if (v !== null && typeof v !== 'string') throw literal(v, 'Edm.String');
            if (v !== null && v !== '') address[part as (typeof ADDRESS_KEYS)[number]] = v as string;
          }
          target[key] = address;
        }
      } else if (key === 'emailAddresses') {
        if (value === null) contact.emailAddresses = [];
        else if (!Array.isArray(value)) throw literal(value, 'Collection(microsoft.graph.emailAddress)');
        else {
          if (value.length > 3) {
            throw new GraphError(400, 'ErrorInvalidProperty', 'A contact can have at most three email addresses.');
          }
          contact.emailAddresses = value.map((e: unknown) => {
            if (typeof e !== 'object' || e === null) throw literal(e, 'microsoft.graph.emailAddress');
            const { name = null, address = null } = e as { name?: unknown; address?: unknown };
            if ((name !== null && typeof name !== 'string') || (address !== null && typeof address !== 'string')) throw literal(e, 'Edm.String');
            if (this.config.rejectMalformedEmails && address && !SMTP.test(address.trim())) {
              throw new GraphError(400, 'ErrorInvalidProperty', `The email address '${address}' is not a valid SMTP address.`);
            }
            return { name: name ?? null, address: address ?? null };
          });
        }
      } else {
        throw unknownProperty(key, 'Microsoft.OutlookServices.Contact');
      }
    }
  }
}

export function composeName(c: Pick<StoredContact, 'givenName' | 'middleName' | 'surname' | 'companyName' | 'emailAddresses'>): string | null {
  const name = [c.givenName, c.middleName, c.surname].filter((p) => p && p.trim()).join(' ');
  return name || c.companyName || c.emailAddresses[0]?.address || null;
}

export const notFound = () => new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');

const literal = (value: unknown, type: string) =>
  new GraphError(400, 'RequestBodyRead', `Cannot convert the literal '${JSON.stringify(value)}' to the expected type '${type}'.`);

const unknownProperty = (name: string, type: string) =>
  new GraphError(
    400,
    'RequestBodyRead',
    `The property '${name}' does not exist on type '${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
  );

/** The seed's person as an Outlook user would have typed it in. */
export function fromPerson(p: ReturnType<typeof person>): ContactInput {
  const phone = (type: string) => (p.phones ?? []).find((ph) => ph.type === type)?.value ?? null;
  return {
    givenName: p.first_name,
    surname: p.last_name,
    companyName: p.company,
    jobTitle: p.job_title,
    emailAddresses: (p.emails ?? []).slice(0, 3).map((e) => ({ name: `${p.first_name ?? ''} ${p.last_name ?? ''}`.trim() || e.value, address: e.value })),
    mobilePhone: phone('mobile'),
    businessPhones: [phone('work'), phone('other')].filter((v): v is string => v !== null),
    homePhones: [phone('home')].filter((v): v is string => v !== null),
    businessAddress: p.address
      ? {
          street: p.address.street,
          city: p.address.city,
          state: p.address.region,
          postalCode: p.address.postal_code,
          countryOrRegion: p.address.country,
        }
      : {},
    personalNotes: p.notes,
    categories: p.tags,
  };
}
