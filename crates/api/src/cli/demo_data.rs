//! `peyvand demo-data`: fills a database with a realistic, mixed Persian and English
//! customer base for demonstrations and benchmarks: persons (titles, valid national
//! codes, Iranian mobiles and landlines, e-mails, provinces and cities, valid postal
//! codes, birth dates, studies), organizations (industries, valid legal-entity ids) with
//! their personnel, notes (communication preferences among them), tags, groups and
//! tiers, lifecycle stages, acquisition sources, and demo sales users who own it all;
//! a small catalogue and three years of orders with returns (`orders`), the lifecycle
//! stages following from them.
//! About one person in fifty registered twice (same mobile and name in Arabic letters,
//! or same e-mail), so duplicate detection has something to find.
//!
//! The same seed gives the same data. Customers go through the shared write path
//! (`application::customers::create_many`), a chunk of them per transaction, so they are
//! validated, indexed for search and audited like any others. Their references (owners,
//! teams, labels) are the ones this command creates, so only the domain rules are
//! checked per customer, not the references, which keeps a million customers fast.
//!
//! Every run numbers its customers' codes `DEMO-<run>-<n>`; a database that already has
//! run 1 is refused unless `--force` adds another run.

mod orders;
mod pools;

use std::time::Instant;

use anyhow::{bail, Context};
use chrono::{Datelike, Duration, NaiveDate};
use clap::Args;
use domain::authz::Role;
use domain::customers::{
    validate_customer, AddressInput, CustomerInput, CustomerKind, EmailInput, Gender,
    LifecycleStage, NoteKind, PhoneInput, PhoneType,
};
use domain::iran::{legal_entity_check_digit, national_code_check_digit};
use persistence::audit::{self, Actor, NewAuditEvent};
use persistence::db::DbConnection;
use persistence::labels::{LabelRow, GROUP, TAG, TIER};
use persistence::notes::NoteRow;
use persistence::personnel::PersonnelRow;
use persistence::sql_types::{DbTime, DbUuid};
use persistence::teams::TeamRow;
use persistence::users::UserRow;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::config::DatabaseArgs;
use application::customers::{create_many, Checked};
use application::i18n::Lang;
use application::{Acting, AppResult};
use pools::*;

#[derive(Debug, Args)]
pub struct DemoDataArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Customers to create, persons and organizations together.
    #[arg(long, default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(1..=RUN_SPAN))]
    pub customers: u64,

    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 1405)]
    pub seed: u64,

    /// Add another run of demo data to a database that already has some.
    #[arg(long)]
    pub force: bool,
}

/// Customers per transaction: large enough for few round trips, small enough to keep
/// memory flat and let other writers in between.
const CHUNK: u64 = 5_000;
/// Numbers reserved per run, so that codes, national codes and e-mails of two runs
/// never collide.
const RUN_SPAN: u64 = 100_000_000;
const TEAM_NAMES: [&str; 2] = ["فروش تهران", "فروش شهرستان‌ها"];
/// Demo users: e-mail, display name, role, index of their team.
const DEMO_USERS: [(&str, &str, Role, usize); 5] = [
    (
        "manager.demo@example.com",
        "مدیر فروش نمایشی",
        Role::Manager,
        0,
    ),
    ("sales1.demo@example.com", "کارشناس فروش یک", Role::Sales, 0),
    ("sales2.demo@example.com", "کارشناس فروش دو", Role::Sales, 0),
    ("sales3.demo@example.com", "کارشناس فروش سه", Role::Sales, 1),
    (
        "sales4.demo@example.com",
        "کارشناس فروش چهار",
        Role::Sales,
        1,
    ),
];

pub fn run(args: DemoDataArgs) -> anyhow::Result<()> {
    let pool = persistence::db::build_pool(&persistence::PoolConfig {
        max_size: 1,
        ..persistence::PoolConfig::new(args.database.url())
    })?;
    let mut conn = pool.get().context("connecting to the database")?;
    persistence::migrations::run_pending(&mut conn)?;
    let run = next_run(&mut conn)?;
    if run > 1 && !args.force {
        bail!(
            "the database already has demo data (customer {}); pass --force to add more",
            customer_code(1, 0)
        );
    }
    let password = application::accounts::random_token(12);
    let password_hash = application::accounts::password::hash(&password)?;
    let setup = application::transaction(&mut conn, |conn| Setup::ensure(conn, &password_hash))?;
    let mut generator = Generator {
        rng: StdRng::seed_from_u64(args.seed),
        run,
        setup: &setup,
        simulator: analytics::simulate::Simulator::new(&CDNOW_BGNBD, &CDNOW_GAMMA_GAMMA)?,
        now: persistence::now(),
    };
    let acting = Acting::system(Lang::En);
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut done = 0;
    while done < args.customers {
        let size = CHUNK.min(args.customers - done);
        let chunk = generator.chunk(done, size)?;
        let written = application::transaction(&mut conn, |conn| {
            chunk.write(conn, &acting, &setup.products, generator.now)
        })?;
        totals.add(&written);
        done += size;
        println!(
            "{done}/{} customers ({:.1} s)",
            args.customers,
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "created {} persons, {} organizations, {} personnel links, {} notes and {} orders in {:.1} s (run {run}, codes {}…)",
        totals.persons,
        totals.organizations,
        totals.personnel,
        totals.notes,
        totals.orders,
        started.elapsed().as_secs_f64(),
        customer_code(run, 0),
    );
    if setup.users_created {
        println!("demo users (password {password}):");
        for (email, _, role, _) in DEMO_USERS {
            println!("  {email} ({})", role.as_str());
        }
    }
    Ok(())
}

fn customer_code(run: u64, index: u64) -> String {
    format!("DEMO-{run}-{:07}", index + 1)
}

/// The number of the next run: one more than the last run whose first customer exists.
fn next_run(conn: &mut DbConnection) -> anyhow::Result<u64> {
    let mut run = 1;
    while persistence::customers::find_id_by_code(conn, &customer_code(run, 0))?.is_some() {
        run += 1;
    }
    Ok(run)
}

/// Users, teams and labels the demo customers refer to; found again by name on later
/// runs.
struct Setup {
    /// Each demo user's id and team.
    users: Vec<(Uuid, Uuid)>,
    users_created: bool,
    tags: Vec<Uuid>,
    groups: Vec<Uuid>,
    tiers: Vec<Uuid>,
    products: Vec<persistence::products::ProductRow>,
}

impl Setup {
    /// Finds or creates everything; new demo users get `password_hash`.
    fn ensure(conn: &mut DbConnection, password_hash: &str) -> AppResult<Setup> {
        let actor = Actor::system();
        let existing_teams = persistence::teams::list(conn, None, 10_000)?;
        let mut teams = Vec::new();
        for name in TEAM_NAMES {
            if let Some(team) = existing_teams.iter().find(|team| team.name == name) {
                teams.push(team.id.0);
                continue;
            }
            let now = DbTime(persistence::now());
            let team = TeamRow {
                id: DbUuid(Uuid::now_v7()),
                name: name.to_string(),
                description: Some("تیم نمایشی".to_string()),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            persistence::teams::insert(conn, &team)?;
            created(conn, &actor, "team", team.id.0, team.audit_snapshot())?;
            teams.push(team.id.0);
        }
        let mut users = Vec::new();
        let mut users_created = false;
        for (email, name, role, team) in DEMO_USERS {
            if let Some(user) = persistence::users::find_by_email(conn, email)? {
                users.push((user.id.0, user.team_id.map_or(teams[team], |id| id.0)));
                continue;
            }
            let now = DbTime(persistence::now());
            let user = UserRow {
                id: DbUuid(Uuid::now_v7()),
                email: email.to_string(),
                display_name: name.to_string(),
                password_hash: password_hash.to_string(),
                role: role.as_str().to_string(),
                visibility: role.default_visibility().as_str().to_string(),
                team_id: Some(DbUuid(teams[team])),
                locale: "fa".to_string(),
                is_active: true,
                last_login_at: None,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            persistence::users::insert(conn, &user)?;
            created(conn, &actor, "user", user.id.0, user.audit_snapshot())?;
            users.push((user.id.0, teams[team]));
            users_created = true;
        }
        let mut labels = |kind: &str, names: &[&str]| -> AppResult<Vec<Uuid>> {
            names
                .iter()
                .enumerate()
                .map(|(rank, name)| label(conn, &actor, kind, name, rank))
                .collect()
        };
        Ok(Setup {
            users,
            users_created,
            tags: labels(TAG, TAGS)?,
            groups: labels(GROUP, GROUPS)?,
            tiers: labels(TIER, TIERS)?,
            products: orders::ensure_catalogue(conn)?,
        })
    }
}

/// The label of `kind` called `name`, created when missing (tiers ranked by `rank`).
fn label(
    conn: &mut DbConnection,
    actor: &Actor,
    kind: &str,
    name: &str,
    rank: usize,
) -> AppResult<Uuid> {
    let name_key = domain::persian::normalize_text(name);
    if let Some(existing) = persistence::labels::find_by_name_key(conn, kind, &name_key)? {
        return Ok(existing.id.0);
    }
    let now = DbTime(persistence::now());
    let row = LabelRow {
        id: DbUuid(Uuid::now_v7()),
        kind: kind.to_string(),
        name: name.to_string(),
        name_key,
        description: None,
        color: None,
        rank: (kind == TIER).then(|| i32::try_from(rank + 1).unwrap_or(i32::MAX)),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    persistence::labels::insert(conn, &row)?;
    created(conn, actor, kind, row.id.0, row.audit_snapshot())?;
    Ok(row.id.0)
}

/// Audits the creation of a `resource` as the routes that create them do.
fn created(
    conn: &mut DbConnection,
    actor: &Actor,
    resource: &str,
    id: Uuid,
    snapshot: serde_json::Value,
) -> AppResult<()> {
    let action = format!("{resource}.create");
    audit::record(
        conn,
        actor,
        NewAuditEvent {
            action: &action,
            resource_type: resource,
            resource_id: Some(id.to_string()),
            changes: Some(domain::audit::changed_fields(
                &serde_json::json!({}),
                &snapshot,
            )),
        },
    )?;
    Ok(())
}

/// Customers of one transaction with what hangs off them, by position in `customers`.
struct Chunk {
    customers: Vec<Checked>,
    /// Per organization: the persons listed there, first one the primary contact.
    personnel: Vec<(usize, Vec<usize>)>,
    /// Customer, kind, text, days ago, author.
    notes: Vec<(usize, NoteKind, &'static str, i64, Uuid)>,
    orders: Vec<orders::DemoOrder>,
}

#[derive(Debug, Default)]
struct Totals {
    persons: usize,
    organizations: usize,
    personnel: usize,
    notes: usize,
    orders: usize,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.persons += other.persons;
        self.organizations += other.organizations;
        self.personnel += other.personnel;
        self.notes += other.notes;
        self.orders += other.orders;
    }
}

impl Chunk {
    fn write(
        &self,
        conn: &mut DbConnection,
        acting: &Acting,
        products: &[persistence::products::ProductRow],
        history_end: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<Totals> {
        let ids = create_many(conn, acting, &self.customers, "demo_data")?;
        let ids = &ids;
        let now = persistence::now();
        let personnel: Vec<PersonnelRow> = self
            .personnel
            .iter()
            .flat_map(|(organization, people)| {
                people.iter().enumerate().map(move |(i, person)| {
                    let (role, unit) = ROLES[(organization + person) % ROLES.len()];
                    PersonnelRow {
                        id: DbUuid(Uuid::now_v7()),
                        customer_id: DbUuid(ids[*organization]),
                        person_id: DbUuid(ids[*person]),
                        role: Some(role.to_string()),
                        unit: Some(unit.to_string()),
                        is_primary_contact: i == 0,
                        created_at: DbTime(now),
                        updated_at: DbTime(now),
                        version: 1,
                    }
                })
            })
            .collect();
        persistence::personnel::insert_many(conn, &personnel)?;
        let notes: Vec<NoteRow> = self
            .notes
            .iter()
            .map(|(customer, kind, body, days_ago, author)| {
                let at = DbTime(now - Duration::days(*days_ago));
                NoteRow {
                    id: DbUuid(Uuid::now_v7()),
                    customer_id: DbUuid(ids[*customer]),
                    kind: kind.as_str().to_string(),
                    body: (*body).to_string(),
                    author_id: Some(DbUuid(*author)),
                    created_at: at,
                    updated_at: at,
                    version: 1,
                }
            })
            .collect();
        persistence::notes::insert_many(conn, &notes)?;
        let orders = orders::write(conn, &self.orders, ids, products, history_end)?;
        let organizations = self.personnel.len();
        Ok(Totals {
            persons: self.customers.len() - organizations,
            organizations,
            personnel: personnel.len(),
            notes: notes.len(),
            orders,
        })
    }
}

/// Share of customers that are organizations, in percent.
const ORGANIZATION_PERCENT: u32 = 15;
/// Share of persons registered a second time, in percent.
const DUPLICATE_PERCENT: u32 = 2;

/// BG/NBD parameters published for the CDNOW sample (weeks).
const CDNOW_BGNBD: analytics::bgnbd::BgNbdParams = analytics::bgnbd::BgNbdParams {
    r: 0.243,
    alpha: 4.414,
    a: 0.793,
    b: 2.426,
};
/// Gamma-Gamma parameters published for the CDNOW sample (dollars).
const CDNOW_GAMMA_GAMMA: analytics::gamma_gamma::GammaGammaParams =
    analytics::gamma_gamma::GammaGammaParams {
        p: 6.25,
        q: 3.74,
        v: 15.44,
    };

struct Generator<'a> {
    rng: StdRng,
    run: u64,
    setup: &'a Setup,
    simulator: analytics::simulate::Simulator,
    /// The moment the purchase histories end.
    now: chrono::DateTime<chrono::Utc>,
}

impl Generator<'_> {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())]
    }

    /// Customers `start..start + size` of this run.
    fn chunk(&mut self, start: u64, size: u64) -> anyhow::Result<Chunk> {
        let mut drafts: Vec<CustomerInput> = Vec::new();
        let mut personnel = Vec::new();
        let mut notes = Vec::new();
        let mut orders = Vec::new();
        let mut persons: Vec<usize> = Vec::new();
        for offset in 0..size {
            let index = start + offset;
            let number = (self.run - 1) * RUN_SPAN + index;
            let position = drafts.len();
            let mut input = if self.rng.gen_ratio(ORGANIZATION_PERCENT, 100) {
                let input = self.organization(number);
                let staff = self.rng.gen_range(1..=4).min(persons.len());
                let people: Vec<usize> = persons
                    .choose_multiple(&mut self.rng, staff)
                    .copied()
                    .collect();
                personnel.push((position, people));
                input
            } else {
                let twin = persons
                    .choose(&mut self.rng)
                    .filter(|_| self.rng.gen_ratio(DUPLICATE_PERCENT, 100))
                    .map(|twin| drafts[*twin].clone());
                persons.push(position);
                match twin {
                    Some(twin) => self.second_registration(twin, number),
                    None => self.person(number),
                }
            };
            input.code = Some(customer_code(self.run, index));
            if self.rng.gen_ratio(35, 100) {
                for _ in 0..self.rng.gen_range(1..=3) {
                    let (kind, texts) = self.pick(NOTES);
                    let text = self.pick(texts);
                    let setup = self.setup;
                    let author = self.pick(&setup.users).0;
                    notes.push((position, kind, text, self.rng.gen_range(0..700), author));
                }
            }
            let (history, stage) = orders::history(
                &mut self.rng,
                &self.simulator,
                position,
                input.lifecycle_stage,
                self.now,
            );
            input.lifecycle_stage = stage;
            orders.extend(history);
            drafts.push(input);
        }
        let today = chrono::Utc::now().date_naive();
        let customers = drafts
            .into_iter()
            .map(|input| {
                let input = validate_customer(input, today).map_err(|errors| {
                    anyhow::anyhow!("generated an invalid customer: {errors:?}")
                })?;
                Ok(Checked {
                    input,
                    custom: Vec::new(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Chunk {
            customers,
            personnel,
            notes,
            orders,
        })
    }

    /// What every customer has: owner and team by region, classification, lifecycle,
    /// acquisition; and an address in a province.
    fn base(&mut self, kind: CustomerKind) -> (CustomerInput, usize) {
        let mut input = CustomerInput::empty(kind);
        let weights: Vec<u32> = PROVINCES.iter().map(|p| p.3).collect();
        let province = weighted(&mut self.rng, &weights);
        // Tehran's customers belong to the Tehran team (users 0..3), the rest to the
        // other (users 3..5); the manager (user 0) owns a few of each.
        let owner = if self.rng.gen_ratio(1, 20) {
            0
        } else if province == 0 {
            self.rng.gen_range(1..3)
        } else {
            self.rng.gen_range(3..5)
        };
        let (owner_id, team_id) = self.setup.users[owner];
        input.owner_id = Some(owner_id);
        input.team_id = Some(team_id);
        input.lifecycle_stage = [
            LifecycleStage::Awareness,
            LifecycleStage::Consideration,
            LifecycleStage::Purchase,
            LifecycleStage::Retention,
            LifecycleStage::Advocacy,
            LifecycleStage::Churned,
        ][weighted(&mut self.rng, &[25, 25, 20, 15, 7, 8])];
        if self.rng.gen_ratio(85, 100) {
            let (source, channel) = self.pick(ACQUISITION);
            input.acquisition_source = Some(source.to_string());
            input.acquisition_channel = Some(channel.to_string());
            if self.rng.gen_ratio(30, 100) {
                input.acquisition_campaign = Some(self.pick(CAMPAIGNS).to_string());
            }
        }
        if self.rng.gen_ratio(30, 100) {
            input.tier_id = self.setup.tiers.choose(&mut self.rng).copied();
        }
        let tags = self.rng.gen_range(0..=2);
        input.tag_ids = self
            .setup
            .tags
            .choose_multiple(&mut self.rng, tags)
            .copied()
            .collect();
        if self.rng.gen_ratio(25, 100) {
            input.group_ids = self
                .setup
                .groups
                .choose(&mut self.rng)
                .copied()
                .into_iter()
                .collect();
        }
        (input, province)
    }

    fn address(&mut self, province: usize, po_box: bool) -> AddressInput {
        let (name, cities, _, _) = PROVINCES[province];
        let street = self.pick(STREETS);
        AddressInput {
            label: None,
            province: Some(name.to_string()),
            city: Some(self.pick(cities).to_string()),
            line: Some(format!(
                "{street}، کوچه {}، پلاک {}",
                self.rng.gen_range(1..=40),
                self.rng.gen_range(1..=250)
            )),
            postal_code: Some(self.postal_code()),
            po_box: po_box.then(|| self.rng.gen_range(1000..99999).to_string()),
            primary: true,
        }
    }

    /// Ten digits whose first five avoid 0 and 2, as Iran Post issues them.
    fn postal_code(&mut self) -> String {
        const AREA_DIGITS: &[u8] = b"13456789";
        let mut code: String = (0..5).map(|_| char::from(self.pick(AREA_DIGITS))).collect();
        code.push_str(&format!("{:05}", self.rng.gen_range(0..100_000)));
        code
    }

    fn person(&mut self, number: u64) -> CustomerInput {
        let (mut input, province) = self.base(CustomerKind::Person);
        let latin = self.rng.gen_ratio(8, 100);
        let (first, last, first_latin, last_latin, female) = if latin {
            let (first, last, female) = self.pick(LATIN_NAMES);
            (first, last, first, last, female)
        } else {
            let female = self.rng.gen_bool(0.5);
            let names = if female { FEMALE_NAMES } else { MALE_NAMES };
            let (first, first_latin) = self.pick(names);
            let (last, last_latin) = self.pick(LAST_NAMES);
            (first, last, first_latin, last_latin, female)
        };
        input.first_name = Some(first.to_string());
        input.last_name = Some(last.to_string());
        input.gender = Some(if female { Gender::Female } else { Gender::Male });
        input.title = match self.rng.gen_range(0..100) {
            0..=6 => Some(if latin { "Dr." } else { "دکتر" }.to_string()),
            7..=16 => Some(if latin { "Eng." } else { "مهندس" }.to_string()),
            _ => None,
        };
        input.national_code = (!latin).then(|| national_code(number)).flatten();
        let birth = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or(NaiveDate::MIN)
            + Duration::days(self.rng.gen_range(0..20_000));
        input.birth_date = Some(birth);
        if birth.year() < 1990 && self.rng.gen_ratio(40, 100) {
            input.marriage_date = Some(birth + Duration::days(self.rng.gen_range(8_000..12_000)));
        }
        if self.rng.gen_ratio(30, 100) {
            input.birth_certificate_number = Some(self.rng.gen_range(1..1_000_000).to_string());
        }
        if self.rng.gen_ratio(50, 100) {
            let (field, degree) = self.pick(STUDIES);
            input.field_of_study = Some(field.to_string());
            input.degree = Some(degree);
        }
        input
            .phones
            .push(phone(mobile(number), PhoneType::Mobile, true));
        if self.rng.gen_ratio(30, 100) {
            input.phones.push(phone(
                landline(province, number),
                PhoneType::Landline,
                false,
            ));
        }
        input.emails.push(EmailInput {
            address: format!(
                "{}.{}{number}@{}",
                first_latin.to_lowercase(),
                last_latin.to_lowercase(),
                self.pick(EMAIL_DOMAINS)
            ),
            label: None,
            primary: true,
        });
        if self.rng.gen_ratio(70, 100) {
            input.addresses.push(self.address(province, false));
        }
        input
    }

    /// A person who registered again: either with the same mobile and their name typed
    /// with Arabic letters, or with the same e-mail address and a new mobile.
    fn second_registration(&mut self, mut twin: CustomerInput, number: u64) -> CustomerInput {
        let arabic =
            |text: &Option<String>| text.as_ref().map(|t| t.replace('ی', "ي").replace('ک', "ك"));
        twin.code = None;
        twin.national_code = None;
        twin.title = None;
        if self.rng.gen_bool(0.5) {
            twin.first_name = arabic(&twin.first_name);
            twin.last_name = arabic(&twin.last_name);
            twin.phones.truncate(1);
            for email in &mut twin.emails {
                email.address = format!("second.{number}@{}", EMAIL_DOMAINS[0]);
            }
        } else {
            twin.phones = vec![phone(mobile(number), PhoneType::Mobile, true)];
        }
        twin
    }

    fn organization(&mut self, number: u64) -> CustomerInput {
        let (mut input, province) = self.base(CustomerKind::Organization);
        let (industry, word, word_latin) = self.pick(INDUSTRIES);
        let (core, core_latin) = self.pick(ORGANIZATION_CORES);
        input.organization_name = Some(if self.rng.gen_ratio(10, 100) {
            format!("{core_latin} {word_latin} Co.")
        } else {
            let form = self.pick(ORGANIZATION_FORMS);
            format!("{form} {core} {word}")
        });
        input.industry = Some(industry.to_string());
        input.national_id = Some(legal_entity_id(number));
        input.founding_date = NaiveDate::from_ymd_opt(
            self.rng.gen_range(1970..2023),
            self.rng.gen_range(1..=12),
            self.rng.gen_range(1..=28),
        );
        let domain = format!("{core_latin}{word_latin}{number}.ir").to_lowercase();
        input.website = Some(format!("https://www.{domain}"));
        input.emails.push(EmailInput {
            address: format!("info@{domain}"),
            label: Some("info".to_string()),
            primary: true,
        });
        input
            .phones
            .push(phone(landline(province, number), PhoneType::Landline, true));
        if self.rng.gen_ratio(30, 100) {
            input.phones.push(phone(
                landline(province, number + RUN_SPAN / 2),
                PhoneType::Fax,
                false,
            ));
        }
        let po_box = self.rng.gen_ratio(20, 100);
        input.addresses.push(self.address(province, po_box));
        input
    }
}

fn phone(number: String, phone_type: PhoneType, primary: bool) -> PhoneInput {
    PhoneInput {
        number,
        phone_type: Some(phone_type),
        label: None,
        primary,
    }
}

/// Index of a weighted choice.
fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let mut pick = rng.gen_range(0..weights.iter().sum::<u32>());
    for (i, weight) in weights.iter().enumerate() {
        if pick < *weight {
            return i;
        }
        pick -= weight;
    }
    weights.len() - 1
}

/// `number` spread over `modulus` by an affine map with a multiplier coprime to it:
/// distinct numbers below the modulus give distinct, unordered-looking values.
fn spread(number: u64, multiplier: u64, modulus: u64) -> u64 {
    (number % modulus * multiplier + 12_345) % modulus
}

fn digits(value: u64, count: usize) -> Vec<u8> {
    format!("{value:0count$}")
        .bytes()
        .map(|b| b - b'0')
        .collect()
}

fn text_of(values: &[u8]) -> String {
    values.iter().map(|d| char::from(b'0' + d)).collect()
}

/// A valid national code of its own for each number; `None` for the few that would be
/// all one digit (never issued).
fn national_code(number: u64) -> Option<String> {
    let mut first_nine = [0_u8; 9];
    first_nine.copy_from_slice(&digits(spread(number, 387_420_489, 1_000_000_000), 9));
    let mut code = first_nine.to_vec();
    code.push(national_code_check_digit(first_nine));
    (!code.iter().all(|d| *d == code[0])).then(|| text_of(&code))
}

/// A valid legal-entity national id of its own for each number (they start with 10).
fn legal_entity_id(number: u64) -> String {
    let mut first_ten = [1_u8, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    first_ten[2..].copy_from_slice(&digits(spread(number, 7_654_321, 100_000_000), 8));
    let mut id = first_ten.to_vec();
    id.push(legal_entity_check_digit(first_ten));
    text_of(&id)
}

/// A mobile number of its own for each number: an operator prefix and seven digits.
fn mobile(number: u64) -> String {
    let prefix = MOBILE_PREFIXES[(number % MOBILE_PREFIXES.len() as u64) as usize];
    let subscriber = spread(number / MOBILE_PREFIXES.len() as u64, 1_234_567, 10_000_000);
    format!("0{prefix}{subscriber:07}")
}

/// A landline in the province's area code; subscriber numbers start with 2 to 7.
fn landline(province: usize, number: u64) -> String {
    let area = PROVINCES[province].2;
    let subscriber = 20_000_000 + spread(number, 3_141_593, 60_000_000);
    format!("0{area}{subscriber}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identifiers_are_valid_and_distinct() {
        let mut codes = std::collections::HashSet::new();
        for number in (0..5_000).chain(RUN_SPAN..RUN_SPAN + 100) {
            if let Some(code) = national_code(number) {
                assert_eq!(
                    domain::iran::validate_national_code(&code),
                    Ok(code.clone())
                );
                assert!(codes.insert(code));
            }
            let id = legal_entity_id(number);
            assert_eq!(domain::iran::validate_legal_entity_id(&id), Ok(id.clone()));
            assert_eq!(
                domain::iran::normalize_phone(&mobile(number)).map(|p| p.kind),
                Ok(domain::iran::PhoneKind::Mobile)
            );
            let province = (number % PROVINCES.len() as u64) as usize;
            assert_eq!(
                domain::iran::normalize_phone(&landline(province, number)).map(|p| p.kind),
                Ok(domain::iran::PhoneKind::Landline)
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_customers() {
        let setup = Setup {
            users: (0..5).map(|_| (Uuid::now_v7(), Uuid::now_v7())).collect(),
            users_created: false,
            tags: vec![Uuid::now_v7()],
            groups: vec![Uuid::now_v7()],
            tiers: vec![Uuid::now_v7()],
            products: Vec::new(),
        };
        let now = persistence::now();
        let chunk = |seed| {
            let mut generator = Generator {
                rng: StdRng::seed_from_u64(seed),
                run: 1,
                setup: &setup,
                simulator: analytics::simulate::Simulator::new(&CDNOW_BGNBD, &CDNOW_GAMMA_GAMMA)
                    .unwrap(),
                now,
            };
            generator.chunk(0, 400).unwrap()
        };
        let (a, b) = (chunk(7), chunk(7));
        let inputs = |chunk: &Chunk| -> Vec<CustomerInput> {
            chunk.customers.iter().map(|c| c.input.clone()).collect()
        };
        assert_eq!(inputs(&a), inputs(&b));
        assert_eq!(a.personnel, b.personnel);
        let placed = |chunk: &Chunk| -> Vec<_> {
            chunk
                .orders
                .iter()
                .map(|o| (o.customer, o.placed_at, o.lines.clone()))
                .collect()
        };
        assert_eq!(placed(&a), placed(&b));
        assert!(a.orders.len() > 200, "{} orders", a.orders.len());
        assert_ne!(inputs(&a), inputs(&chunk(8)));
        assert!(a
            .customers
            .iter()
            .any(|c| c.input.kind == CustomerKind::Organization));
        assert!(!a.notes.is_empty());
    }
}
