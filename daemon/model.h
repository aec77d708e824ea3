/* model — the configured plant, as parsed from YAML by config.c.
 *
 * Ownership: a struct dg_config owns every object and string below it; it is built by
 * config_load(), read-only afterwards, and freed whole by config_free(). Cross references
 * (a rule's point, a measure's event) are plain pointers into the same config.
 * Only the loop thread reads a live config. */
#ifndef DG_MODEL_H
#define DG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Risk level 安全风险等级: 低/一般/较大/重大 = blue/yellow/orange/red. */
enum dg_level { DG_LEVEL_NONE = 0, DG_LEVEL_BLUE = 1, DG_LEVEL_YELLOW = 2, DG_LEVEL_ORANGE = 3, DG_LEVEL_RED = 4 };

/* Alarm priority. */
enum dg_priority { DG_PRIO_NONE = 0, DG_PRIO_LOW = 1, DG_PRIO_MEDIUM = 2, DG_PRIO_HIGH = 3, DG_PRIO_CRITICAL = 4 };

const char *dg_level_name(enum dg_level l);       /* "blue" ... "red", "none" */
const char *dg_level_name_zh(enum dg_level l);    /* 低风险 一般风险 较大风险 重大风险 */
int dg_level_parse(const char *s);                /* name → level, -1 if unknown */
const char *dg_priority_name(enum dg_priority p); /* "low" ... "critical" */
int dg_priority_parse(const char *s);             /* name → priority, -1 if unknown */

/* Band limits of an assessment method (config risk_bands), ascending. */
struct dg_bands {
  double yellow, orange, red;
};
extern const struct dg_bands dg_default_lec_bands; /* 70, 160, 320 */
extern const struct dg_bands dg_default_ls_bands;  /* 9, 15, 20 */

/* LEC: D = L*E*C; D > red → red, D > orange → orange, D > yellow → yellow, else blue
 *      (default: D > 320 red, 160 < D <= 320 orange, 70 < D <= 160 yellow, D <= 70 blue).
 * LS:  R = L*S;   R >= red → red, R >= orange → orange, R >= yellow → yellow, else blue
 *      (default: 20–25 red, 15–16 orange, 9–12 yellow, 1–8 blue).
 * b NULL: the defaults. */
enum dg_level dg_level_from_lec(double d, const struct dg_bands *b);
enum dg_level dg_level_from_ls(double r, const struct dg_bands *b);

struct dg_person {
  char *id;
  char *name;
  char *phone;
  char *email;
  /* IM contact points: a DingTalk/WeCom/Feishu user id or the mobile the robot @-mentions
   * (NULL: the robot mentions `phone`, when there is one). */
  char *dingtalk, *wecom, *feishu;
  char **roles;
  size_t n_roles;
  char *dept;  /* department (部门), for the performance assessment; NULL: none */
};

struct dg_event;
struct dg_unit;
struct dg_config_index;
struct dg_hazard_source;
struct expr;

/* 管控措施 control measure. */
struct dg_measure {
  char *id;
  char *desc;
  int classify1;          /* 1 工程技术 2 维护保养 3 操作行为 4 应急措施 */
  char *classify2;        /* "1-4" etc. (may be NULL) */
  int data_src;           /* 1 自动化监控, 2 隐患排查 */
  char *control_level;    /* 公司/部门/车间/班组/岗位 (may be NULL) */
  char *resp_dept;        /* responsible: { dept, person } who carries the measure out (may be NULL) */
  char *resp_person;      /* a dg_person id (may be NULL) */
  char *troubleshoot;     /* troubleshootContent (may be NULL) */
  char *classify3;        /* classify3: free text refining the sub-class (may be NULL) */
  /* check_cycle { n, unit }: inspection cycle; cycle_unit 0 = default by the event's level,
   * else enum inspect_unit (1 hour, 2 day, 3 month, 4 year). */
  int cycle_n;
  int cycle_unit;
  bool work_days;         /* periods trimmed to the site calendar's work days */
  struct dg_event *event; /* back pointer */
};

/* An emergency phone number of a post (its risk card lists them). */
struct dg_post_phone {
  char *name;             /* 火警, 急救, 值班室 ... */
  char *phone;
};

/* 岗位 post: the units its workers work in, the persons holding it (and their deputies, who may
 * act for them), and the risk events they face (each in one of the post's units). The pointers
 * go into the same config. */
struct dg_post {
  char *id;
  char *name;
  struct dg_unit **units;        size_t n_units;
  struct dg_person **persons;    size_t n_persons;
  struct dg_person **deputies;   size_t n_deputies;
  struct dg_event **events;      size_t n_events;
  struct dg_post_phone *phones;  size_t n_phones;
  char **duties;                 size_t n_duties; /* 岗位职责, for the 应知应会卡 (may be empty) */
};

/* Inspection plan (inspection_plans:): the annual plan (全年隐患排查计划) or a special, seasonal
 * or holiday inspection (专项/季节性/节假日排查) with its own checklist, dates and assignees. */
enum dg_plan_kind { DG_PLAN_ANNUAL, DG_PLAN_SPECIAL, DG_PLAN_SEASONAL, DG_PLAN_HOLIDAY };

struct dg_plan {
  char *id;
  char *name;
  int kind;                      /* enum dg_plan_kind */
  char *from_s, *to_s;           /* "YYYY-MM-DD" as written */
  int32_t from, to;              /* civil days, inclusive */
  int cycle_n, cycle_unit;       /* a task every cycle within the range (enum inspect_unit); 0: one task */
  int before_days;               /* holiday: the task covers the days before each holiday block */
  bool work_days;                /* periods trimmed to the site calendar's work days */
  struct dg_unit *unit;          /* where (optional): a finding's hazard goes to this unit */
  struct dg_post *post;          /* assignee: a post (its persons and deputies) and/or a person */
  struct dg_person *person;
  char **items;                  /* checklist (检查表) */
  size_t n_items;
};

/* Site work calendar (calendar:): days are civil day numbers (days since 1970-01-01). */
struct dg_calendar {
  unsigned weekend_mask;  /* bit (1u << weekday), 0 = Sunday; default Saturday and Sunday */
  int32_t *holidays;      /* sorted, distinct: days off even on a weekday */
  size_t n_holidays;
  int32_t *workdays;      /* sorted, distinct: make-up working days (调休) on a weekend */
  size_t n_workdays;
};

/* 安全风险事件 risk event. */
struct dg_event {
  char *id;
  char *name;
  char *accident_type;    /* one of GB 6441's 20 types, e.g. 中毒和窒息 */
  enum { DG_ASSESS_LEC = 1, DG_ASSESS_LS = 2 } method;
  double l, e, c, s;      /* factors as given (c unused for LS, e/c unused for LS) */
  double score;           /* D or R */
  enum dg_level level;    /* from score and bands */
  struct dg_measure *measures;
  size_t n_measures;
  /* emergency: what to do, in order, when the event happens (应急处置); the emergency card
   * prints it and alarms on its measures show it as what to do now (ledger/emergency.h). */
  char **emergency;
  size_t n_emergency;
  struct dg_unit *unit;   /* back pointer */
};

/* 安全风险分析单元 risk unit. */
struct dg_unit {
  char *id;
  char *name;
  char *dept;             /* hazardDep */
  char *person;           /* hazardLiablePerson: a dg_person id */
  enum dg_level level;    /* assessed: max of events */
  /* hazard_policy: what the hazards the monitoring opens on this unit's measures get unless
   * their rule says otherwise: dangerLevel (0 一般, 1 重大; -1 not set → 0) and the
   * rectification deadline in days (0 not set → daemon.hazard_deadline_days). */
  int hazard_level;
  uint32_t hazard_deadline_days;
  struct dg_event *events;
  size_t n_events;
  struct dg_hazard_source *source; /* back pointer */
};

/* A dangerous chemical held by a hazard source (GB 18218-2018; grade.h). */
struct dg_substance {
  char *name;
  char *category;         /* hazard category "J1".."W11" (may be NULL) */
  double quantity;        /* q, tonnes */
  double critical;        /* Q, critical quantity, tonnes */
  double beta;            /* correction factor used (explicit or from the standard's tables) */
};

/* 安全风险分析对象 / 重大危险源 hazard source. */
struct dg_hazard_source {
  char *id;               /* hazardCode */
  char *name;
  char *type;             /* 装置/储罐/库/锅炉 ... (may be NULL) */
  bool is_major;
  int major_grade;        /* 1..4, 0 if not major */
  /* major_hazard: { exposed_persons | alpha, substances }: is_major and major_grade computed
   * (graded true) from S = Σq/Q and R = α·Σβq/Q; otherwise both are given in the config. */
  bool graded;
  double alpha;
  long exposed_persons;   /* -1 when alpha is given directly */
  double major_s, major_r;
  struct dg_substance *substances;
  size_t n_substances;
  struct dg_unit *units;
  size_t n_units;
};

enum dg_driver_kind { DG_DRIVER_MQTT = 1, DG_DRIVER_MODBUS = 2 };

struct dg_mqtt_broker {
  char *id;               /* referenced by points as "mqtt.<id>" */
  char *uri;              /* tcp://host:port or ssl://host:port */
  char *client_id;
  char *username;         /* may be NULL */
  char *password;         /* may be NULL */
  int qos;                /* subscription QoS, 0..2 (default 1) */
  uint32_t keepalive_s;   /* default 30 */
  bool clean_session;     /* default true */
  /* TLS (ssl://, mqtts://, wss:// URIs): PEM files; NULL = none. ca_file NULL uses the
   * system's trust store. insecure skips verifying the broker's certificate and host name. */
  char *ca_file;
  char *cert_file;        /* client certificate (with key_file) */
  char *key_file;
  bool insecure;          /* default false */
  uint32_t max_clock_skew_ms; /* source timestamps further ahead are replaced; 0 = 5 min */
  /* wildcard_topics: subscriptions whose matching messages feed the point of this broker whose
   * id is one level of the topic. */
  struct dg_mqtt_wildcard *wildcards;
  size_t n_wildcards;
};

/* One wildcard_topics entry: filter "plant/+/gas/+", id_level 4 (1-based topic level holding the
 * point id), payload path/ts_path as for a point binding (path NULL: bare number). */
struct dg_mqtt_wildcard {
  char *filter;
  uint32_t id_level;
  char *path;
  char *ts_path;
};

/* JSON payload binding of an MQTT point. */
struct dg_mqtt_binding {
  char *topic;            /* exact topic */
  char *path;             /* JSON field path ("value", "$.value", "data.ch4"); NULL: bare number */
  char *ts_path;          /* JSON field holding the source timestamp (epoch s or ms); may be NULL */
  /* states: payload text (bare, or a JSON string at path) → value; JSON true/false look up
   * "true"/"false". With states, a string that is neither mapped nor numeric is a bad payload. */
  struct dg_mqtt_state *states;
  size_t n_states;
};

struct dg_mqtt_state {
  char *text;
  double value;
};

struct dg_modbus_bus {
  char *id;               /* referenced by points as "modbus.<id>" */
  enum { DG_MB_TCP = 1, DG_MB_RTU = 2, DG_MB_RTU_OVER_TCP = 3 } transport;
  char *host;             /* TCP and RTU-over-TCP */
  uint16_t port;          /* default 502 */
  char *device;           /* RTU serial device, e.g. /dev/ttyS1 */
  uint32_t baud;          /* default 9600 */
  char parity;            /* 'N', 'E', 'O' (default 'N') */
  uint8_t data_bits;      /* default 8 */
  uint8_t stop_bits;      /* default 1 */
  bool rs485;             /* set RS-485 mode on the port */
  uint32_t response_timeout_ms; /* default 1000 */
  uint32_t byte_timeout_ms;     /* default 500 */
  uint32_t poll_interval_ms;    /* default 1000; points may override */
  uint32_t request_pause_ms;    /* pause between requests, default 0 */
  uint16_t max_gap;             /* registers allowed between coalesced points, default 8 */
  uint32_t fail_threshold;      /* consecutive failures before comm loss, default 3 */
  uint32_t reconnect_max_ms;    /* reconnect backoff cap, default 30000 */
};

enum dg_mb_space { DG_MB_COIL = 1, DG_MB_DISCRETE = 2, DG_MB_INPUT = 3, DG_MB_HOLDING = 4 };
enum dg_mb_type {
  DG_MB_BOOL = 1, DG_MB_INT16, DG_MB_UINT16, DG_MB_INT32, DG_MB_UINT32, DG_MB_FLOAT32,
  DG_MB_INT64, DG_MB_UINT64, DG_MB_FLOAT64
};

/* Register binding of a Modbus point. Config keys: slave, one of coil/discrete/input/holding
 * (the address), type, order, bit, poll. */
struct dg_modbus_binding {
  int slave;              /* unit id 0..247 (default 1) */
  enum dg_mb_space space;
  uint16_t address;       /* zero-based register/coil address */
  enum dg_mb_type type;   /* default uint16 for registers, bool for coils/discretes */
  int bit;                /* 0..15 for a bit inside a register, -1 otherwise */
  char order[5];          /* byte/word order "ABCD" (default), "DCBA", "BADC", "CDAB" */
  uint32_t poll_ms;       /* 0 = bus default */
};

/* 监测点 point (tag). */
struct dg_point {
  char *id;
  char *name;
  char *eng_unit;         /* engineering unit, e.g. "%LEL" (may be NULL) */
  char *unit_id;          /* risk unit this point watches (may be NULL) */
  enum dg_driver_kind driver_kind;
  char *driver_id;        /* broker/bus id after the "mqtt." / "modbus." prefix */
  size_t driver_index;    /* index into config->mqtt_brokers or config->modbus_buses */
  struct dg_mqtt_binding mqtt;     /* when driver_kind == DG_DRIVER_MQTT */
  struct dg_modbus_binding modbus; /* when driver_kind == DG_DRIVER_MODBUS */
  double scale;           /* value = raw * scale + offset; default 1, 0 */
  double offset;
  double deadband;        /* history store-on-change deadband (engineering units), default 0 */
  size_t index;           /* position in config->points */
};

#define DG_MAX_STAGES 4

struct dg_stage {
  char *name;             /* "H", "HH", "yellow" ... */
  double limit;
  /* high/low/rate stages may override the rule's deadband and delays; each own_* flag says the
   * field is set, otherwise the rule's value applies. */
  double deadband;
  enum dg_priority priority; /* here, not after limit: a large plant has a million stages */
  uint32_t on_delay_ms;   /* before this stage is entered */
  uint32_t off_delay_ms;  /* before this stage is left */
  bool own_deadband, own_on_delay, own_off_delay;
};

/* stale: no sample within timeout_ms; quality: the point's samples carry a fault quality
 * (comm, device, bad payload) for on_delay. Both have one implicit stage named after the type,
 * with the rule's priority. */
/* rate: the change of the value over rate_window_ms, in units per rate_per_ms, compared like a
 * high rule (stage limits ascend) with the rising change, or the falling change's magnitude. */
/* state: a digital input (an ESD trip, a valve limit switch) equals state_value, or (state_change)
 * changes; one implicit stage named "state" (limit state_value) or "change", the rule's
 * priority. */
enum dg_rule_type { DG_RULE_HIGH = 1, DG_RULE_LOW = 2, DG_RULE_STALE = 3, DG_RULE_QUALITY = 4, DG_RULE_RATE = 5,
                    DG_RULE_EXPR = 6, DG_RULE_DEVIATION = 7, DG_RULE_VOTE = 8, DG_RULE_AGGREGATE = 9,
                    DG_RULE_STATE = 10 };
enum dg_rate_direction { DG_RATE_RISING = 1, DG_RATE_FALLING = 2 };

/* 风险失控表现 rule: the machine-checkable failure of a control measure. */
struct dg_rule {
  char *id;
  char *name;               /* may be NULL */
  struct dg_point *point;
  struct dg_measure *measure; /* may be NULL: an alarm with no hazard automation */
  struct dg_stage stages[DG_MAX_STAGES]; /* ordered by severity: ascending limits for high,
                                            descending for low */
  size_t n_stages;
  double deadband;          /* hysteresis in engineering units, >= 0 */
  uint32_t on_delay_ms;
  uint32_t off_delay_ms;
  int hazard_level;         /* dangerLevel override: 0 一般, 1 重大, -1 from unit policy */
  uint32_t hazard_deadline_days; /* rectification deadline; 0 = default */
  size_t index;             /* position in config->rules */
  bool latched;             /* after return to normal the alarm waits for a reset */
  uint32_t timeout_ms;      /* stale rules */
  enum dg_priority priority; /* stale and quality rules: the priority of their one stage */
  uint32_t rate_per_ms;     /* rate rules: rate: { per, window } */
  uint32_t rate_window_ms;
  enum dg_rate_direction rate_direction; /* default rising */
  /* expr rules (rules/expr.h): the condition's text and compiled form; one implicit stage named
   * "expr" with the rule's priority. `point` is the first point the condition reads. */
  char *expr_text;
  struct expr *expr;
  /* deviation: points: [point, point2] disagree by more than `limit` (one implicit stage named
   * "deviation", the rule's priority, deadband and delays on |point - point2|). */
  struct dg_point *point2;
  double limit;
  /* vote: at least vote_k of the inputs are at or above their own limit (one implicit stage
   * named "vote", the rule's priority); point is inputs[0]. */
  struct dg_point **inputs;
  double *input_limits;
  size_t n_inputs;          /* 2..DG_MAX_VOTE_INPUTS */
  uint32_t vote_k;
  enum dg_rule_type type;   /* beside vote_k, where it costs no padding */
  /* aggregate: the item level (yellow/orange/red = its stages 0..2, limits DG_LEVEL_YELLOW..RED)
   * from the levels of its input rules (high/low rules listed earlier); point is the first
   * input's point. agg_counts: yellow_from_blue, orange_from_yellow, red_from_orange. */
  struct dg_rule **agg_inputs;
  size_t n_agg_inputs;      /* 1..DG_MAX_AGG_INPUTS */
  uint32_t agg_counts[3];
  bool agg_input;           /* some aggregate rule reads this rule's stage */
  /* suppress_when: { point, below | above }: the alarm is SUPPRESSED while suppress_point has
   * good quality and its value is below (suppress_below) or above suppress_limit. NULL: never. */
  struct dg_point *suppress_point;
  double suppress_limit;
  bool suppress_below;
  /* state: alarm while the value equals state_value, or on each change (state_change). */
  bool state_change;
  double state_value;
};

#define DG_MAX_AGG_INPUTS 64

#define DG_MAX_VOTE_INPUTS 32

enum dg_channel_type { DG_CHANNEL_WEBHOOK = 1, DG_CHANNEL_DINGTALK, DG_CHANNEL_WECOM, DG_CHANNEL_FEISHU,
                       DG_CHANNEL_SMTP, DG_CHANNEL_SMS, DG_CHANNEL_VOICE, DG_CHANNEL_MQTT };

/* A notification channel. The channels: section holds plain webhooks; escalation.channels
 * (esc_config.h) holds every type, with the keys below. */
struct dg_channel {
  char *id;
  enum dg_channel_type type;
  char *url;                /* SMTP: smtp:// or smtps://; SMS/voice: the gateway endpoint */
  uint32_t timeout_ms;      /* per attempt, default 5000 */
  uint32_t expire_s;        /* give up after this long undelivered, default 86400 */
  char *secret;             /* DingTalk/Feishu signing secret, SMTP password, gateway key (NULL: none) */
  char **headers;           /* extra "Name: value" request headers ({{secret}} expands) */
  size_t n_headers;
  char *body_template;      /* webhook, SMS, voice: request body with {{placeholders}} (NULL: JSON) */
  char *template_code;      /* SMS/voice gateway's pre-approved template */
  char *username, *from;    /* SMTP; username also MQTT */
  char *topic;              /* MQTT: topic template ({{person}}, {{channel}}, {{id}}) */
  bool tls;                 /* SMTP: require TLS (CURLUSESSL_ALL) */
  bool markdown;            /* DingTalk/WeCom: markdown instead of text */
  uint32_t rate_per_min;    /* provider limit per channel (0: none) */
  uint32_t per_number_per_min, per_number_per_hour; /* voice caps per called number (0: none) */
  struct dg_channel *fallback; /* voice: the SMS channel used when a number is capped */
};

/* Which channels hear about alarms of which priorities. */
struct dg_policy {
  char *id;
  unsigned priority_mask;   /* bit (1u << dg_priority) */
  struct dg_channel **channels;
  size_t n_channels;
};

struct dg_config {
  char *path;               /* file it was loaded from */
  char *site_code;
  char *site_name;

  char *http_listen;        /* "127.0.0.1" default */
  uint16_t http_port;       /* 8080 default */
  uint32_t http_max_connections;     /* 0: derived from the descriptor limit */
  uint32_t http_max_per_client;      /* 0: derived */
  uint32_t http_fd_reserve;          /* 0: derived */
  uint32_t http_event_buffer;        /* events kept for stream resumption (events.h); 0: EVENTS_RING */
  char **http_hosts;                 /* Host names answered besides the loopback names and listen */
  size_t n_http_hosts;
  bool http_open_reads_on_loopback;  /* GET /api/... from loopback clients needs no token */
  char *http_tls_cert, *http_tls_key;/* PEM files: the listener serves HTTPS */
  char *db_path;            /* "dualguard.db" default; --db overrides */
  uint32_t login_idle_ms;         /* daemon.login: a session unused this long ends (default 30 min) */
  uint32_t login_lifetime_ms;     /* a session ends this long after login whatever its use (12 h) */
  uint32_t login_max_failures;    /* failed logins of one name before it is locked out (5) */
  uint32_t login_max_failures_addr; /* failed logins from one client address before lock-out (20) */
  uint32_t login_lockout_ms;      /* first lock-out; doubles with every further failure (1 min) */
  uint32_t history_flush_ms;/* sample batch period, default 1000 */
  uint32_t outbox_in_memory;/* pending notifications held in memory, default 4096; the rest wait on disk */
  uint32_t hazard_deadline_days; /* default rectification deadline, default 7 */
  char *public_url;         /* daemon.public_url: base of the links printed on cards (may be NULL) */

  struct dg_person *persons;           size_t n_persons;
  struct dg_hazard_source *sources;    size_t n_sources;
  struct dg_mqtt_broker *mqtt_brokers; size_t n_mqtt_brokers;
  struct dg_modbus_bus *modbus_buses;  size_t n_modbus_buses;
  struct dg_point *points;             size_t n_points;
  struct dg_rule *rules;               size_t n_rules;
  struct dg_channel *channels;         size_t n_channels;
  struct dg_policy *policies;          size_t n_policies;
  struct dg_post *posts;               size_t n_posts;
  struct dg_plan *plans;               size_t n_plans;

  /* Id hash tables built by config_load (owned, freed by config_free). NULL in a config built
   * by hand: the dg_config_* lookups then scan the arrays. */
  struct dg_config_index *index;

  /* risk_bands: level bands of the LEC and LS assessments (defaults dg_default_*_bands). */
  struct dg_bands lec_bands, ls_bands;
  struct dg_calendar calendar;

  /* alarm.max_shelve: longest shelve per priority (indexed by enum dg_priority), ms. */
  uint32_t max_shelve_ms[5];

  /* Plant-model edits (config_load_edits) replayed over the file, and those skipped because
   * their target or parent no longer exists, or their id is taken, in the file. */
  size_t n_edits_applied, n_edits_skipped;

  /* ledger: manual hazard reports enter 审核中 (-1) until an engineer confirms or dismisses
   * them (default false); directory of photo attachments (NULL: "<database path>.attachments"). */
  bool review_reports;
  char *attachments_dir;
  /* ledger.upload_quota: photo bytes one person may upload in 24 h, and the most all stored
   * photos may take, in MiB (defaults 256 and 4096). */
  uint32_t upload_person_day_mib, upload_total_mib;
  /* ledger.principal_delegates: persons who act for the principal person in charge (主要负责人):
   * they accept major hazards and confirm the daily safety commitment (govern.h). */
  struct dg_person **principal_delegates;
  size_t n_principal_delegates;

  /* national: the enterprise codes and choices of the national upload profile (NULL if absent;
   * national_config.h). */
  struct dg_national *national;

  /* escalation: person-directed channels, tiered policies and on-call rotas (esc_config.h);
   * NULL when the section is absent. */
  struct esc_config *esc;
};

/* Lookups by id (linear or hashed; NULL if absent). */
struct dg_point *dg_config_point(const struct dg_config *c, const char *id);
struct dg_measure *dg_config_measure(const struct dg_config *c, const char *id);
struct dg_unit *dg_config_unit(const struct dg_config *c, const char *id);
struct dg_person *dg_config_person(const struct dg_config *c, const char *id);
struct dg_channel *dg_config_channel(const struct dg_config *c, const char *id);
struct dg_post *dg_config_post(const struct dg_config *c, const char *id);
struct dg_plan *dg_config_plan(const struct dg_config *c, const char *id);

#endif
