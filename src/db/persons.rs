//! The register's people (`persons`) and every identifier each has or had (`person_ids`).

use std::collections::HashSet;

use sqlx::Row;

use super::builder::{execute_all, QueryBuilder, Statement};
use super::orders::resolved_to;
use super::{ctx, json_list, now, Db, DbError, Tx, ROWS_PER_STATEMENT};
use pinbrev_core::freg::ImportedPerson;

impl Db {
    /// Stores a batch of people in one transaction. A person already known by any of their
    /// identifiers is replaced (keeping its person_id). Returns how many were replacements.
    ///
    /// New people (none of whose identifiers is stored) are written with multi-row statements;
    /// a person who replaces or merges stored ones, one statement at a time.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn store_persons(
        &self,
        source: &str,
        batch: &[ImportedPerson],
    ) -> Result<u64, DbError> {
        let mut tx = self.begin_write().await?;
        let at = now();
        let mut stored: HashSet<String> = HashSet::new();
        let numbers: Vec<&str> = batch
            .iter()
            .flat_map(|p| p.person.identifiers.iter().map(|i| i.number.as_str()))
            .collect();
        let in_list = self.engine.in_list();
        let rows = sqlx::query(&format!(
            "SELECT national_id FROM person_ids WHERE national_id IN {in_list}"
        ))
        .bind(json_list(&numbers))
        .fetch_all(&mut *tx)
        .await
        .map_err(ctx("looking up people"))?;
        for r in rows {
            stored.insert(r.try_get(0).map_err(ctx("looking up people"))?);
        }
        let mut next_id: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(person_id), 0) + 1 FROM persons")
                .fetch_one(&mut *tx)
                .await
                .map_err(ctx("numbering people"))?;
        let mut pending: Vec<NewPerson<'_>> = Vec::new();
        let mut pending_numbers: HashSet<&str> = HashSet::new();
        let mut replaced = 0;
        for imported in batch {
            let record = serde_json::to_string(&imported.person).expect("person serializes");
            let ids = &imported.person.identifiers;
            let touches_pending = ids
                .iter()
                .any(|i| pending_numbers.contains(i.number.as_str()));
            if touches_pending {
                insert_new_persons(&mut tx, source, &at, &pending).await?;
                stored.extend(pending_numbers.drain().map(str::to_string));
                pending.clear();
            }
            if ids.iter().any(|i| stored.contains(&i.number)) {
                if replace_person(&mut tx, source, &at, imported, &record).await? {
                    replaced += 1;
                }
                stored.extend(ids.iter().map(|i| i.number.clone()));
                continue;
            }
            pending_numbers.extend(ids.iter().map(|i| i.number.as_str()));
            pending.push(NewPerson {
                person_id: next_id,
                imported,
                record,
            });
            next_id += 1;
        }
        insert_new_persons(&mut tx, source, &at, &pending).await?;
        tx.commit().await.map_err(ctx("committing people"))?;
        Ok(replaced)
    }
}

/// A person none of whose identifiers is stored yet, with the person_id it gets.
struct NewPerson<'a> {
    person_id: i64,
    imported: &'a ImportedPerson,
    record: String,
}

/// Inserts new people and their identifiers with multi-row statements.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
async fn insert_new_persons(
    tx: &mut Tx,
    source: &str,
    at: &str,
    people: &[NewPerson<'_>],
) -> Result<(), DbError> {
    // A number listed twice by one person is stored once: the last type, in use if either is.
    let mut ids: Vec<(&str, i64, &'static str, bool)> = Vec::new();
    for p in people {
        for id in &p.imported.person.identifiers {
            let id_type = id_type_code(id.id_type);
            match ids
                .iter_mut()
                .rev()
                .take_while(|(_, owner, _, _)| *owner == p.person_id)
                .find(|(n, _, _, _)| *n == id.number)
            {
                Some(seen) => {
                    seen.2 = id_type;
                    seen.3 |= id.in_use;
                }
                None => ids.push((id.number.as_str(), p.person_id, id_type, id.in_use)),
            }
        }
    }
    // In the order of the identifiers' index (the table's key), so that each statement's rows
    // are neighbours in it: the register lists people in no such order.
    ids.sort_unstable_by_key(|(number, ..)| *number);
    let engine = tx.engine();
    let persons = people.chunks(ROWS_PER_STATEMENT).map(|chunk| {
        let mut qb = QueryBuilder::new(
            engine,
            "INSERT INTO persons (person_id, record, source_file, source_line, imported_at) ",
        );
        qb.push_values(chunk, |mut row, p| {
            row.push_bind(p.person_id)
                .push_bind(p.record.as_str())
                .push_bind(source)
                .push_bind(p.imported.line as i64)
                .push_bind(at);
        });
        Statement {
            builder: qb,
            rows: chunk.len(),
            context: "storing people",
        }
    });
    let identifiers = ids.chunks(ROWS_PER_STATEMENT).map(|rows| {
        let mut qb = QueryBuilder::new(
            engine,
            "INSERT INTO person_ids (national_id, person_id, id_type, in_use) ",
        );
        qb.push_values(rows, |mut row, (number, person_id, id_type, in_use)| {
            row.push_bind(*number)
                .push_bind(*person_id)
                .push_bind(*id_type)
                .push_bind(i64::from(*in_use));
        });
        Statement {
            builder: qb,
            rows: rows.len(),
            context: "storing people's identifiers",
        }
    });
    execute_all(tx, persons.chain(identifiers)).await?;
    Ok(())
}

/// The stored name of an identifier type (its name in the register's JSON).
fn id_type_code(id_type: pinbrev_core::freg::IdentifierType) -> &'static str {
    use pinbrev_core::freg::IdentifierType;
    match id_type {
        IdentifierType::Foedselsnummer => "foedselsnummer",
        IdentifierType::DNummer => "dNummer",
        IdentifierType::Other => "other",
    }
}

/// Stores a person one or more of whose identifiers is stored already: the first such person
/// is replaced (keeping its person_id), any other merged into it. True when one was replaced.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
async fn replace_person(
    tx: &mut Tx,
    source: &str,
    at: &str,
    imported: &ImportedPerson,
    record: &str,
) -> Result<bool, DbError> {
    let mut replaced = false;
    let mut known: Vec<i64> = Vec::new();
    for id in &imported.person.identifiers {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT person_id FROM person_ids WHERE national_id = $1")
                .bind(&id.number)
                .fetch_optional(&mut **tx)
                .await
                .map_err(ctx("looking up a person"))?;
        known.extend(found);
    }
    known.sort_unstable();
    known.dedup();
    let person_id = match known.first() {
        Some(&keep) => {
            replaced = true;
            sqlx::query("UPDATE persons SET record = $1, source_file = $2, source_line = $3, imported_at = $4 WHERE person_id = $5")
                .bind(record)
                .bind(source)
                .bind(imported.line as i64)
                .bind(at)
                .bind(keep)
                .execute(&mut **tx)
                .await
                .map_err(ctx("replacing a person"))?;
            for &old in &known {
                sqlx::query("DELETE FROM person_ids WHERE person_id = $1")
                    .bind(old)
                    .execute(&mut **tx)
                    .await
                    .map_err(ctx("replacing a person's identifiers"))?;
                if old != keep {
                    sqlx::query("DELETE FROM persons WHERE person_id = $1")
                        .bind(old)
                        .execute(&mut **tx)
                        .await
                        .map_err(ctx("merging a person"))?;
                }
            }
            keep
        }
        None => sqlx::query_scalar(
            "INSERT INTO persons (record, source_file, source_line, imported_at) VALUES ($1, $2, $3, $4) RETURNING person_id",
        )
        .bind(record)
        .bind(source)
        .bind(imported.line as i64)
        .bind(at)
        .fetch_one(&mut **tx)
        .await
        .map_err(ctx("storing a person"))?,
    };
    for id in &imported.person.identifiers {
        sqlx::query(
            "INSERT INTO person_ids (national_id, person_id, id_type, in_use) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (national_id) DO UPDATE SET person_id = excluded.person_id, \
             id_type = excluded.id_type, \
             in_use = CASE WHEN excluded.in_use > person_ids.in_use THEN excluded.in_use ELSE person_ids.in_use END",
        )
        .bind(&id.number)
        .bind(person_id)
        .bind(id_type_code(id.id_type))
        .bind(i64::from(id.in_use))
        .execute(&mut **tx)
        .await
        .map_err(ctx("storing a person's identifiers"))?;
    }
    if known.len() > 1 {
        merge_person_keys(tx, person_id, &known[1..]).await?;
    }
    Ok(replaced)
}

/// After people were merged into `kept`: the letters of those merged away, and the orders
/// resolved to any identifier `kept` now has, name `kept` (see sql/0008_person_key.sql).
async fn merge_person_keys(tx: &mut Tx, kept: i64, merged: &[i64]) -> Result<(), DbError> {
    for &old in merged {
        sqlx::query("UPDATE letters SET person_id = $1 WHERE person_id = $2")
            .bind(kept)
            .bind(old)
            .execute(&mut **tx)
            .await
            .map_err(ctx("merging a person's letters"))?;
    }
    let [placed, moved] = resolved_to(
        "o",
        "IN (SELECT national_id FROM person_ids WHERE person_id = $1)",
    );
    sqlx::query(&format!(
        "UPDATE orders SET person_id = $1 WHERE person_id IS NOT NULL AND person_id <> $1 \
         AND order_id IN (SELECT o.order_id FROM orders o WHERE {placed} \
         UNION SELECT o.order_id FROM orders o WHERE {moved})"
    ))
    .bind(kept)
    .execute(&mut **tx)
    .await
    .map_err(ctx("merging a person's orders"))?;
    Ok(())
}
