import { type CompiledCondition, compileCondition } from './condition.ts';
import type { AuthorizationModel, RelationReference, Userset } from './model-types.ts';

/** An edge `relation: x from tupleset` on `type`, seen from the parent's side. */
export interface TtuParent {
  type: string;
  relation: string;
  tupleset: string;
}

/** One relation of one type: how it is computed and which users may be written to it directly. */
export interface RelationInfo {
  readonly type: string;
  readonly name: string;
  readonly rewrite: Userset;
  readonly directTypes: readonly RelationReference[];
}

/**
 * A validated model, indexed for evaluation. Built once per model and shared by every request on it.
 *
 * `reachableUsers(type, relation)` is the set of user kinds that can ever hold the relation: `user` for
 * objects of type user (directly, through a wildcard or through groups), `group#member` for usersets.
 * A check whose user kind is not in that set is false without reading a tuple (OpenFGA's path check).
 */
export class TypeSystem {
  readonly id: string;
  readonly model: AuthorizationModel;
  readonly conditions: ReadonlyMap<string, CompiledCondition>;
  private readonly types = new Map<string, Map<string, RelationInfo>>();
  private readonly tuplesets = new Set<string>();
  private readonly reachable = new Map<string, Set<string>>();
  private readonly computedParentsOf = new Map<string, string[]>();
  private readonly ttuParentsOf = new Map<string, TtuParent[]>();

  constructor(id: string, model: AuthorizationModel) {
    this.id = id;
    this.model = model;
    const conditions = new Map<string, CompiledCondition>();
    for (const [name, definition] of Object.entries(model.conditions ?? {})) {
      conditions.set(name, compileCondition(name, definition));
    }
    this.conditions = conditions;
    for (const td of model.type_definitions) {
      const relations = new Map<string, RelationInfo>();
      for (const [name, rewrite] of Object.entries(td.relations ?? {})) {
        relations.set(name, {
          type: td.type,
          name,
          rewrite,
          directTypes: td.metadata?.relations?.[name]?.directly_related_user_types ?? [],
        });
        collectTuplesets(td.type, rewrite, this.tuplesets);
      }
      this.types.set(td.type, relations);
    }
    this.computeReachability();
    this.computeParents();
  }

  /** Relations of the same type that include `type#relation` as a computed relation (outside a `but not`). */
  computedParents(type: string, relation: string): readonly string[] {
    return this.computedParentsOf.get(`${type}#${relation}`) ?? [];
  }

  /** The `relation from tupleset` edges that lead up from an object of `type` holding `relation`. */
  ttuParents(type: string, relation: string): readonly TtuParent[] {
    return this.ttuParentsOf.get(`${type}#${relation}`) ?? [];
  }

  private computeParents(): void {
    const add = <T>(map: Map<string, T[]>, key: string, value: T) => {
      const list = map.get(key);
      if (list) list.push(value);
      else map.set(key, [value]);
    };
    for (const [type, relations] of this.types) {
      for (const info of relations.values()) {
        const walk = (rewrite: Userset): void => {
          if ('computedUserset' in rewrite) {
            add(this.computedParentsOf, `${type}#${rewrite.computedUserset.relation}`, info.name);
          } else if ('tupleToUserset' in rewrite) {
            const tupleset = rewrite.tupleToUserset.tupleset.relation ?? '';
            const computed = rewrite.tupleToUserset.computedUserset.relation ?? '';
            for (const ref of this.relation(type, tupleset)?.directTypes ?? []) {
              if (ref.relation || ref.wildcard) continue;
              add(this.ttuParentsOf, `${ref.type}#${computed}`, { type, relation: info.name, tupleset });
            }
          } else if ('union' in rewrite) rewrite.union.child.forEach(walk);
          else if ('intersection' in rewrite) rewrite.intersection.child.forEach(walk);
          else if ('difference' in rewrite) walk(rewrite.difference.base);
        };
        walk(info.rewrite);
      }
    }
  }

  get schemaVersion(): string {
    return this.model.schema_version;
  }

  hasType(type: string): boolean {
    return this.types.has(type);
  }

  relation(type: string, relation: string): RelationInfo | undefined {
    return this.types.get(type)?.get(relation);
  }

  relationsOf(type: string): RelationInfo[] {
    return [...(this.types.get(type)?.values() ?? [])];
  }

  typeNames(): string[] {
    return [...this.types.keys()];
  }

  /** Whether `type#relation` is the tupleset of some `x from relation` on that type. */
  isTupleset(type: string, relation: string): boolean {
    return this.tuplesets.has(`${type}#${relation}`);
  }

  /** Whether a user of this kind (`user`, `group#member`) can ever hold `type#relation`. */
  canReach(type: string, relation: string, userKind: string): boolean {
    return this.reachable.get(`${type}#${relation}`)?.has(userKind) ?? false;
  }

  private computeReachability(): void {
    for (const [type, relations] of this.types) {
      // A userset always reaches itself (document:1#viewer is a viewer of document:1).
      for (const name of relations.keys())
        this.reachable.set(`${type}#${name}`, new Set([`${type}#${name}`]));
    }
    // Fixed point: each pass adds what the relations a relation refers to can reach.
    let changed = true;
    while (changed) {
      changed = false;
      for (const [type, relations] of this.types) {
        for (const info of relations.values()) {
          const set = this.reachable.get(`${type}#${info.name}`)!;
          const before = set.size;
          this.addReachable(type, info, info.rewrite, set);
          if (set.size !== before) changed = true;
        }
      }
    }
  }

  private addReachable(type: string, info: RelationInfo, rewrite: Userset, into: Set<string>): void {
    const merge = (key: string) => {
      for (const k of this.reachable.get(key) ?? []) into.add(k);
    };
    if ('this' in rewrite) {
      for (const ref of info.directTypes) {
        if (ref.relation) {
          into.add(`${ref.type}#${ref.relation}`);
          merge(`${ref.type}#${ref.relation}`);
        } else {
          into.add(ref.type);
        }
      }
    } else if ('computedUserset' in rewrite) {
      merge(`${type}#${rewrite.computedUserset.relation}`);
    } else if ('tupleToUserset' in rewrite) {
      const tupleset = this.relation(type, rewrite.tupleToUserset.tupleset.relation ?? '');
      for (const ref of tupleset?.directTypes ?? []) {
        merge(`${ref.type}#${rewrite.tupleToUserset.computedUserset.relation}`);
      }
    } else if ('union' in rewrite) {
      for (const child of rewrite.union.child) this.addReachable(type, info, child, into);
    } else if ('intersection' in rewrite) {
      for (const child of rewrite.intersection.child) this.addReachable(type, info, child, into);
    } else if ('difference' in rewrite) {
      this.addReachable(type, info, rewrite.difference.base, into);
    }
  }
}

function collectTuplesets(type: string, rewrite: Userset, into: Set<string>): void {
  if ('tupleToUserset' in rewrite) into.add(`${type}#${rewrite.tupleToUserset.tupleset.relation}`);
  else if ('union' in rewrite) for (const c of rewrite.union.child) collectTuplesets(type, c, into);
  else if ('intersection' in rewrite)
    for (const c of rewrite.intersection.child) collectTuplesets(type, c, into);
  else if ('difference' in rewrite) {
    collectTuplesets(type, rewrite.difference.base, into);
    collectTuplesets(type, rewrite.difference.subtract, into);
  }
}
