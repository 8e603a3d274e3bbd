//! The simulated tenant: users, customers, assets, devices, relations and attributes.
//!
//! Built deterministically from a seed by [`World::generate`]. Time series are not stored
//! here (see [`super::signals`] and [`super::series`]); only the latest value of each key and
//! the values pushed through `DemoControl` are.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::rng::{Rng, hash, hash_str};
use super::signals::{DEVICE_PROFILES, DeviceStream, profile_signals};
use crate::protocol::{Authority, EntityId, EntityType, NULL_UUID, TbValue};

/// The tenant admin's login.
pub const TENANT_EMAIL: &str = "tenant@thingsboard.org";
/// The tenant admin's password.
pub const TENANT_PASSWORD: &str = "tenant";
/// The customer user's login.
pub const CUSTOMER_EMAIL: &str = "customer@thingsboard.org";
/// The customer user's password.
pub const CUSTOMER_PASSWORD: &str = "customer";
/// A tenant admin with TOTP two-factor authentication.
pub const MFA_EMAIL: &str = "mfa@thingsboard.org";
/// The 2FA user's password.
pub const MFA_PASSWORD: &str = "mfa";
/// The 2FA user's TOTP secret (RFC 4648 base32; SHA-1, 6 digits, 30 s), for an authenticator app.
pub const MFA_TOTP_SECRET_BASE32: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
/// The 2FA user's backup codes.
pub const MFA_BACKUP_CODES: [&str; 2] = ["11112222", "33334444"];

/// A user who can log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    /// User id.
    pub id: Uuid,
    /// E-mail and login name.
    pub email: String,
    /// Password (demo accounts only; documented in the README).
    pub password: String,
    /// Authority.
    pub authority: Authority,
    /// The customer of a customer user.
    pub customer_id: Option<Uuid>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// TOTP secret when 2FA is on.
    pub totp_secret: Option<Vec<u8>>,
    /// Creation time (epoch ms).
    pub created_time: i64,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Customer id.
    pub id: Uuid,
    /// Title (its name).
    pub title: String,
    /// Contact e-mail.
    pub email: String,
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
}

/// An entity the queries can find: an asset, a device, the tenant or a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRecord {
    /// The id.
    pub id: EntityId,
    /// Name (unique per type).
    pub name: String,
    /// Profile / type name (`site`, `thermostat`, …).
    pub profile: String,
    /// Label (may be empty).
    pub label: String,
    /// Creation time (epoch ms).
    pub created_time: i64,
    /// Owning customer; `None` = owned by the tenant.
    pub customer_id: Option<Uuid>,
    /// Free JSON.
    pub additional_info: serde_json::Value,
    /// Telemetry stream of a device.
    pub stream: Option<DeviceStream>,
}

/// A directed relation `from --type--> to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Source.
    pub from: EntityId,
    /// Target.
    pub to: EntityId,
    /// Relation type, e.g. `Contains`.
    pub relation_type: String,
}

/// An attribute value with its last update time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrValue {
    /// Last update (epoch ms).
    pub last_update_ts: i64,
    /// The value.
    pub value: TbValue,
}

/// The three attribute scopes of an entity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attributes {
    /// Client scope (reported by the device).
    pub client: BTreeMap<String, AttrValue>,
    /// Shared scope (set by the platform, visible to the device).
    pub shared: BTreeMap<String, AttrValue>,
    /// Server scope (platform only).
    pub server: BTreeMap<String, AttrValue>,
}

/// The whole simulated tenant.
#[derive(Debug, Clone)]
pub struct World {
    /// The seed everything derives from.
    pub seed: u64,
    /// The tenant's id.
    pub tenant_id: Uuid,
    /// Users who can log in.
    pub users: Vec<DemoUser>,
    /// Customers.
    pub customers: Vec<Customer>,
    /// Every entity, in creation order (tenant, customers, assets, devices).
    pub entities: Vec<EntityRecord>,
    /// Index into `entities` by id.
    pub index: HashMap<EntityId, usize>,
    /// Relations between entities.
    pub relations: Vec<Relation>,
    /// Attributes per entity.
    pub attributes: HashMap<EntityId, Attributes>,
}

/// Knobs of [`World::generate`].
#[derive(Debug, Clone, Copy)]
pub struct WorldSpec {
    /// Seed.
    pub seed: u64,
    /// Number of devices.
    pub devices: usize,
    /// "Now" when the tenant is created (epoch ms); creation times lie before it.
    pub now_ms: i64,
}

const SITE_NAMES: [&str; 6] = ["North", "South", "East", "West", "Harbour", "Airport"];
const CITIES: [&str; 6] = ["Kyiv", "Lviv", "Odesa", "Dnipro", "Kharkiv", "Vinnytsia"];

impl World {
    /// Builds the tenant for `spec`. The same spec always gives the same world.
    #[must_use]
    #[allow(clippy::too_many_lines)] // one linear recipe: users, sites, buildings, devices
    pub fn generate(spec: WorldSpec) -> Self {
        let mut rng = Rng::new(spec.seed);
        let tenant_id = rng.uuid();
        let customer_id = rng.uuid();
        let mut w = World {
            seed: spec.seed,
            tenant_id,
            users: Vec::new(),
            customers: vec![Customer {
                id: customer_id,
                title: "Acme Facilities".to_owned(),
                email: "ops@acme.example".to_owned(),
                city: "Lviv".to_owned(),
                country: "Ukraine".to_owned(),
            }],
            entities: Vec::new(),
            index: HashMap::new(),
            relations: Vec::new(),
            attributes: HashMap::new(),
        };
        let day = 86_400_000;
        let created = |rng: &mut Rng, days_back: i64| {
            let back =
                i64::try_from(rng.below(u64::try_from(days_back * day).unwrap_or(1))).unwrap_or(0);
            spec.now_ms - 7 * day - back
        };
        w.add_users(&mut rng, customer_id, spec.now_ms - 400 * day);
        let tenant = EntityRecord {
            id: EntityId::new(EntityType::Tenant, tenant_id),
            name: "Demo Tenant".to_owned(),
            profile: "Default".to_owned(),
            label: String::new(),
            created_time: spec.now_ms - 400 * day,
            customer_id: None,
            additional_info: serde_json::json!({}),
            stream: None,
        };
        w.push(tenant);
        let customer = EntityRecord {
            id: EntityId::customer(customer_id),
            name: "Acme Facilities".to_owned(),
            profile: "Customer".to_owned(),
            label: String::new(),
            created_time: spec.now_ms - 300 * day,
            customer_id: None,
            additional_info: serde_json::json!({}),
            stream: None,
        };
        w.push(customer);

        // Sites contain buildings contain devices; the second site belongs to the customer.
        let buildings_total = spec.devices.div_ceil(10).max(2);
        let sites_total = buildings_total.div_ceil(4).max(2).min(buildings_total);
        let mut sites = Vec::new();
        for s in 0..sites_total {
            let name = if s < SITE_NAMES.len() {
                format!("Site {}", SITE_NAMES[s])
            } else {
                format!(
                    "Site {}-{}",
                    SITE_NAMES[s % SITE_NAMES.len()],
                    s / SITE_NAMES.len()
                )
            };
            let id = EntityId::asset(rng.uuid());
            let owner = (s % 3 == 1).then_some(customer_id);
            let city = CITIES[s % CITIES.len()];
            w.push(EntityRecord {
                id: id.clone(),
                name,
                profile: "site".to_owned(),
                label: format!("{city} campus"),
                created_time: created(&mut rng, 200),
                customer_id: owner,
                additional_info: serde_json::json!({"description": format!("Campus in {city}")}),
                stream: None,
            });
            w.set_attr(
                &id,
                Scope::Server,
                "address",
                format!("{} Main St, {city}", 10 + s),
                spec.now_ms - 30 * day,
            );
            w.set_attr(
                &id,
                Scope::Server,
                "latitude",
                format!(
                    "{:.4}",
                    49.0 + 0.37 * f64::from(u32::try_from(s).unwrap_or(0))
                ),
                spec.now_ms - 30 * day,
            );
            w.set_attr(
                &id,
                Scope::Server,
                "longitude",
                format!(
                    "{:.4}",
                    24.0 + 0.53 * f64::from(u32::try_from(s).unwrap_or(0))
                ),
                spec.now_ms - 30 * day,
            );
            sites.push((id, owner));
        }
        let mut buildings = Vec::new();
        for b in 0..buildings_total {
            let (site, owner) = sites[b % sites.len()].clone();
            let kind = if b % 5 == 4 { "zone" } else { "building" };
            let id = EntityId::asset(rng.uuid());
            let name = format!(
                "{} {}{}",
                if kind == "zone" { "Zone" } else { "Building" },
                (b'A' + u8::try_from(b % 26).unwrap_or(0)) as char,
                b / 26 + 1
            );
            w.push(EntityRecord {
                id: id.clone(),
                name,
                profile: kind.to_owned(),
                label: String::new(),
                created_time: created(&mut rng, 150),
                customer_id: owner,
                additional_info: serde_json::json!({}),
                stream: None,
            });
            w.set_attr(
                &id,
                Scope::Server,
                "floorArea",
                (800 + rng.below(4000)).to_string(),
                spec.now_ms - 20 * day,
            );
            w.relations.push(Relation {
                from: site,
                to: id.clone(),
                relation_type: "Contains".to_owned(),
            });
            buildings.push((id, owner));
        }
        for d in 0..spec.devices {
            let profile = match d % 20 {
                0..=7 => DEVICE_PROFILES[0],
                8..=11 => DEVICE_PROFILES[1],
                12..=16 => DEVICE_PROFILES[2],
                _ => DEVICE_PROFILES[3],
            };
            let (building, owner) = buildings[d % buildings.len()].clone();
            let created_time = created(&mut rng, 100);
            w.add_device(
                &mut rng,
                d,
                profile,
                &building,
                owner,
                created_time,
                spec.now_ms,
            );
        }
        w
    }

    fn add_users(&mut self, rng: &mut Rng, customer_id: Uuid, created: i64) {
        let tenant_user =
            |rng: &mut Rng, email: &str, password: &str, first: &str, last: &str| DemoUser {
                id: rng.uuid(),
                email: email.to_owned(),
                password: password.to_owned(),
                authority: Authority::TenantAdmin,
                customer_id: None,
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                totp_secret: None,
                created_time: created,
            };
        let admin = tenant_user(rng, TENANT_EMAIL, TENANT_PASSWORD, "Taras", "Admin");
        let mut customer = tenant_user(rng, CUSTOMER_EMAIL, CUSTOMER_PASSWORD, "Olena", "Customer");
        customer.authority = Authority::CustomerUser;
        customer.customer_id = Some(customer_id);
        let mut mfa = tenant_user(rng, MFA_EMAIL, MFA_PASSWORD, "Mykola", "Secure");
        mfa.totp_secret = base32_decode(MFA_TOTP_SECRET_BASE32);
        self.users = vec![admin, customer, mfa];
    }

    #[allow(clippy::too_many_arguments)]
    fn add_device(
        &mut self,
        rng: &mut Rng,
        n: usize,
        profile: &str,
        building: &EntityId,
        owner: Option<Uuid>,
        created_time: i64,
        now_ms: i64,
    ) {
        let id = EntityId::device(rng.uuid());
        let prefix = match profile {
            "thermostat" => "Thermostat T",
            "water-pump" => "Pump P",
            "energy-meter" => "Meter E",
            _ => "Gateway G",
        };
        let name = format!("{prefix}-{}", 101 + n);
        let stream = DeviceStream {
            hash: hash(&[self.seed, hash_str(&name)]),
            // Every gateway and one device in 25 go offline now and then.
            flaky: profile == "gateway" || n % 25 == 3,
        };
        let labels = ["", "Lobby", "Roof", "Basement", "Server room", "Kitchen"];
        let label = labels[usize::try_from(rng.below(labels.len() as u64)).unwrap_or(0)].to_owned();
        self.push(EntityRecord {
            id: id.clone(),
            name,
            profile: profile.to_owned(),
            label,
            created_time,
            customer_id: owner,
            additional_info: serde_json::json!({"gateway": profile == "gateway", "description": ""}),
            stream: Some(stream),
        });
        self.relations.push(Relation {
            from: building.clone(),
            to: id.clone(),
            relation_type: "Contains".to_owned(),
        });
        let t = now_ms - 3_600_000;
        let serial = format!("SN-{:08X}", rng.next_u64() & 0xFFFF_FFFF);
        let fw =
            ["2.4.1", "2.4.2", "2.5.0", "3.0.0-rc1"][usize::try_from(rng.below(4)).unwrap_or(0)];
        self.set_attr(&id, Scope::Client, "serialNumber", serial, created_time);
        self.set_attr(&id, Scope::Client, "fwVersion", fw.to_owned(), t);
        self.set_attr(
            &id,
            Scope::Client,
            "model",
            format!("{}-{}", profile.to_uppercase(), 100 + n % 7),
            created_time,
        );
        self.set_attr(&id, Scope::Server, "active", "true".to_owned(), t);
        self.set_attr(
            &id,
            Scope::Server,
            "lastActivityTime",
            now_ms.to_string(),
            now_ms,
        );
        self.set_attr(
            &id,
            Scope::Server,
            "inactivityTimeout",
            "600000".to_owned(),
            created_time,
        );
        let (key, value) = match profile {
            "thermostat" => ("targetTemperature", "21.5"),
            "water-pump" => ("pressureSetpoint", "3.2"),
            "energy-meter" => ("tariff", "day"),
            _ => ("uplinkMode", "lte"),
        };
        self.set_attr(&id, Scope::Shared, key, value.to_owned(), t);
        self.set_attr(
            &id,
            Scope::Shared,
            "reportingInterval",
            "1000".to_owned(),
            t,
        );
        if profile == "thermostat" {
            self.set_attr(
                &id,
                Scope::Shared,
                "config",
                r#"{"mode":"eco","schedule":[6,22]}"#.to_owned(),
                t,
            );
        }
        debug_assert!(!profile_signals(profile).is_empty());
    }

    fn push(&mut self, e: EntityRecord) {
        self.index.insert(e.id.clone(), self.entities.len());
        self.entities.push(e);
    }

    /// Sets an attribute (creating the entity's attribute maps when needed).
    pub fn set_attr(&mut self, id: &EntityId, scope: Scope, key: &str, value: String, ts: i64) {
        let attrs = self.attributes.entry(id.clone()).or_default();
        let map = match scope {
            Scope::Client => &mut attrs.client,
            Scope::Shared => &mut attrs.shared,
            Scope::Server => &mut attrs.server,
        };
        map.insert(
            key.to_owned(),
            AttrValue {
                last_update_ts: ts,
                value: TbValue::new(value),
            },
        );
    }

    /// The entity with `id`.
    #[must_use]
    pub fn entity(&self, id: &EntityId) -> Option<&EntityRecord> {
        self.index.get(id).map(|&i| &self.entities[i])
    }

    /// The user with this e-mail (case-insensitive, as ThingsBoard).
    #[must_use]
    pub fn user_by_email(&self, email: &str) -> Option<&DemoUser> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    /// The user with this id.
    #[must_use]
    pub fn user(&self, id: Uuid) -> Option<&DemoUser> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Whether `user` may see `entity`: tenant admins see everything of the tenant,
    /// customer users only their customer's entities (and the customer itself).
    #[must_use]
    pub fn visible_to(&self, user: &DemoUser, entity: &EntityRecord) -> bool {
        match user.customer_id {
            None => true,
            Some(c) => entity.customer_id == Some(c) || entity.id == EntityId::customer(c),
        }
    }

    /// Devices, in creation order.
    pub fn devices(&self) -> impl Iterator<Item = &EntityRecord> {
        self.entities
            .iter()
            .filter(|e| e.id.entity_type == EntityType::Device)
    }

    /// The customer id ThingsBoard reports for an entity (`NULL_UUID` when tenant-owned).
    #[must_use]
    pub fn customer_of(&self, e: &EntityRecord) -> Uuid {
        e.customer_id.unwrap_or(NULL_UUID)
    }
}

/// An attribute scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `CLIENT_SCOPE`
    Client,
    /// `SHARED_SCOPE`
    Shared,
    /// `SERVER_SCOPE`
    Server,
}

/// Decodes RFC 4648 base32 (no padding needed); `None` on a bad character.
#[must_use]
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u64, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buf = (buf << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buf >> bits) & 0xFF).unwrap_or(0));
        }
    }
    Some(out)
}
