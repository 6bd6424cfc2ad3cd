package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// Environment variables, and the .env keys, that configure otpidp.
const (
	envIssuer        = "OTPIDP_ISSUER"
	envAddr          = "OTPIDP_ADDR"
	envDatabaseURL   = "OTPIDP_DATABASE_URL"
	envSMS           = "OTPIDP_SMS"
	envTwilioSID     = "TWILIO_ACCOUNT_SID"
	envTwilioToken   = "TWILIO_AUTH_TOKEN"
	envTwilioPhone   = "TWILIO_PHONE_NUMBER"
	envTwilioAPIURL  = "TWILIO_API_URL"
	envDefaultRegion = "OTPIDP_DEFAULT_REGION"
	envProductName   = "OTPIDP_PRODUCT_NAME"
	envDev           = "OTPIDP_DEV"
	envLogLevel      = "OTPIDP_LOG_LEVEL"
)

// configKeys lists every key loadConfig reads, in the order of the README's table.
func configKeys() []string {
	return append([]string{
		envIssuer, envAddr, envDatabaseURL, envSMS, envTwilioSID, envTwilioToken, envTwilioPhone,
		envTwilioAPIURL, envDefaultRegion, envProductName, envDev, envLogLevel,
		envKeyRotation, envKeyLeadTime, envRefreshGrace,
	}, append(append(append(append(abuseConfigKeys(), pagesKeys()...), smsConfigKeys()...), obsConfigKeys()...), lifecycleConfigKeys()...)...) // abuse_config.go, config_pages.go, smsconfig.go, config_obs.go, lifecycle_config.go
}

// Defaults.
const (
	defaultIssuer        = "http://localhost:8080"
	defaultAddr          = ":8080"          // with an issuer that is not a loopback address
	defaultDevAddr       = "127.0.0.1:8080" // with a loopback issuer: codes may go to the console
	defaultSQLiteFile    = "otpidp.db"
	defaultDatabaseURL   = "sqlite:" + defaultSQLiteFile
	defaultRegion        = "US"
	defaultProductName   = "otpidp"
	defaultLogLevel      = "info"
	defaultEnvFile       = ".env"
	smsConsole           = "console"
	smsTwilio            = "twilio"
	maxProductNameLength = 50
)

// Config is otpidp's configuration. Sources, highest first: command-line flags, the environment,
// a .env file, defaults. Secrets (the Twilio auth token, a database password) come only from the
// environment or the .env file, never from flags.
type Config struct {
	Issuer      string // OTPIDP_ISSUER: the public base URL, no trailing slash
	Addr        string // OTPIDP_ADDR: the listen address
	DatabaseURL string // OTPIDP_DATABASE_URL: sqlite:PATH or postgres://…; default sqlite:otpidp.db

	SMS         string // OTPIDP_SMS: "console", "twilio" or "twilio-verify"
	SMSExplicit bool   // OTPIDP_SMS (or --sms) was set, rather than inferred

	TwilioAccountSID  string // TWILIO_ACCOUNT_SID
	TwilioAuthToken   string // TWILIO_AUTH_TOKEN (secret)
	TwilioPhoneNumber string // TWILIO_PHONE_NUMBER: the sender, E.164
	TwilioAPIURL      string // TWILIO_API_URL: another base URL for Twilio's API (tests); empty: Twilio's

	// smsconfig.go
	TwilioAPIKey              string        // TWILIO_API_KEY: an API key SID, instead of the auth token
	TwilioAPISecret           string        // TWILIO_API_SECRET (secret)
	TwilioMessagingServiceSID string        // TWILIO_MESSAGING_SERVICE_SID: instead of TWILIO_PHONE_NUMBER
	TwilioVerifyServiceSID    string        // TWILIO_VERIFY_SERVICE_SID: with OTPIDP_SMS=twilio-verify
	TwilioStatusCallback      bool          // OTPIDP_TWILIO_STATUS_CALLBACK: receive delivery reports
	SMSTimeout                time.Duration // OTPIDP_SMS_TIMEOUT: per Twilio request; 0: 3s
	SMSTemplate               string        // OTPIDP_SMS_TEMPLATE: the code message; "": built-in texts

	DefaultRegion string      // OTPIDP_DEFAULT_REGION: region of national phone input, e.g. "US"
	ProductName   string      // OTPIDP_PRODUCT_NAME: shown in pages and SMS texts
	Dev           bool        // OTPIDP_DEV: development mode (demo app); default true for a localhost issuer
	LogLevel      string      // OTPIDP_LOG_LEVEL: debug, info, warn or error
	Pages         PagesConfig // config_pages.go: sessions, branding, reset mode
	Obs           ObsConfig   // config_obs.go: log format, access log, admin listener, tracing, SMS breaker

	Abuse       AbuseConfig   // rate limits, throttles, trusted proxies (abuse_config.go)
	KeyRotation time.Duration // OTPIDP_KEY_ROTATION: a new signing key this often; < 0: off (keys.go)
	KeyLeadTime time.Duration // OTPIDP_KEY_LEAD_TIME: a new key is published this long before it signs

	Lifecycle    LifecycleConfig // database call timeout, shutdown drain and grace (lifecycle_config.go)
	RefreshGrace time.Duration   // OTPIDP_REFRESH_GRACE: a rotated refresh token's grace period; < 0: none (tokens_config.go)

	DevicePollInterval time.Duration // how often devices may poll (RFC 8628); zero: 5 s. Not configurable: tests shorten it

	// EnvFile is the .env file that was read, empty when none was.
	EnvFile string
}

// configError is a bad configuration: every problem, in one message. Exit status 2.
type configError struct{ Problems []string }

func (e *configError) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// configFlags are the configuration flags a command accepts. Each flag names the environment
// variable it overrides; only flags that were given count.
type configFlags struct {
	envFile string
	values  map[string]*optionalString // env key → flag
}

// optionalString is a flag.Value that remembers whether it was set.
type optionalString struct {
	value  string
	set    bool
	isBool bool
}

func (o *optionalString) String() string   { return o.value }
func (o *optionalString) IsBoolFlag() bool { return o.isBool }
func (o *optionalString) Set(s string) error {
	if o.isBool {
		if _, err := strconv.ParseBool(s); err != nil {
			return errors.New("must be true or false")
		}
	}
	o.value, o.set = s, true
	return nil
}

// configFlag names and describes the flag that overrides an environment variable.
func configFlag(key string) (name, help string) {
	switch key {
	case envIssuer:
		return "issuer", "public base URL of the provider (" + envIssuer + ", default " + defaultIssuer + ")"
	case envAddr:
		return "addr", "listen address (" + envAddr + ", default " + defaultDevAddr + " with a localhost issuer, else " + defaultAddr + "); set --issuer to the URL browsers use to reach it"
	case envDatabaseURL:
		return "database-url", "sqlite:PATH or postgres://… (" + envDatabaseURL + ", default " + defaultDatabaseURL + ")"
	case envSMS:
		return "sms", "SMS sender: console, twilio or twilio-verify (" + envSMS + ")"
	case envDefaultRegion:
		return "default-region", "region of phone numbers typed without +country code (" + envDefaultRegion + ", default " + defaultRegion + ")"
	case envDev:
		return "dev", "development mode, with the demo app (" + envDev + ", default true for a localhost issuer)"
	case envLogLevel:
		return "log-level", "debug, info, warn or error (" + envLogLevel + ", default " + defaultLogLevel + ")"
	}
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(key, "OTPIDP_"), "_", "-")), "sets " + key
}

// addConfigFlags registers --env-file and the flags for the given keys on fs.
func addConfigFlags(fs *flag.FlagSet, keys ...string) *configFlags {
	cf := &configFlags{values: map[string]*optionalString{}}
	fs.StringVar(&cf.envFile, "env-file", "", "read configuration from this file instead of ./.env")
	for _, k := range keys {
		name, help := configFlag(k)
		v := &optionalString{isBool: k == envDev}
		cf.values[k] = v
		fs.Var(v, name, help)
	}
	return cf
}

// serveFlagKeys are the configuration flags of serve.
func serveFlagKeys() []string {
	return []string{envIssuer, envAddr, envDatabaseURL, envSMS, envDefaultRegion, envDev, envLogLevel}
}

// loadConfig parses serve's flags in args (the arguments after "serve") and returns the
// validated configuration. A flag error is a *usageError (already printed to stderr with the
// usage); a bad configuration is a *configError listing every problem.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := newFlagSet("serve", serveUsage, stderr)
	cf := addConfigFlags(fs, serveFlagKeys()...)
	if err := parseFlags(fs, args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, flagUsageFailure(fs, "serve: unexpected argument %q", fs.Arg(0))
	}
	return cf.load(getenv, stderr)
}

// load resolves the configuration from the flags that were set, getenv and the .env file,
// then validates it: a *configError lists the problems met while loading and every problem
// of the result.
func (cf *configFlags) load(getenv func(string) string, stderr io.Writer) (Config, error) {
	c, problems := resolveConfig(cf, getenv, stderr)
	problems = append(problems, c.problems()...)
	if len(problems) > 0 {
		return Config{}, &configError{Problems: problems}
	}
	return c, nil
}

// resolveConfig builds a Config from the sources without validating it. It returns the
// problems it meets on the way: a malformed .env file, an unparsable boolean.
func resolveConfig(cf *configFlags, getenv func(string) string, stderr io.Writer) (Config, []string) {
	var c Config
	dotenv, file, problems := readEnvFile(cf.envFile)
	c.EnvFile = file
	for k := range dotenv {
		if strings.HasPrefix(k, "OTPIDP_") && !slices.Contains(configKeys(), k) {
			fmt.Fprintf(stderr, "otpidp: warning: %s: unknown setting %s is ignored\n", file, k)
		}
	}
	lookup := func(key string) (string, bool) {
		if f, ok := cf.values[key]; ok && f.set {
			return f.value, true
		}
		if v := getenv(key); v != "" {
			return v, true
		}
		if v, ok := dotenv[key]; ok && v != "" {
			return v, true
		}
		return "", false
	}
	get := func(key, def string) string {
		if v, ok := lookup(key); ok {
			return v
		}
		return def
	}

	c.Issuer = strings.TrimSuffix(get(envIssuer, defaultIssuer), "/")
	addrSet := false
	c.Addr, addrSet = lookup(envAddr)
	c.DatabaseURL = get(envDatabaseURL, defaultDatabaseURL)
	c.TwilioAccountSID = get(envTwilioSID, "")
	c.TwilioAuthToken = get(envTwilioToken, "")
	c.TwilioPhoneNumber = get(envTwilioPhone, "")
	c.TwilioAPIURL = get(envTwilioAPIURL, "")
	problems = append(problems, resolveSMSConfig(&c, lookup)...)
	if v, ok := lookup(envSMS); ok {
		c.SMS, c.SMSExplicit = strings.ToLower(v), true
	} else if c.TwilioAccountSID != "" {
		c.SMS = defaultSMS(&c)
	} else {
		c.SMS = smsConsole
	}
	c.DefaultRegion = strings.ToUpper(get(envDefaultRegion, defaultRegion))
	c.ProductName = strings.TrimSpace(get(envProductName, defaultProductName))
	c.LogLevel = strings.ToLower(get(envLogLevel, defaultLogLevel))
	problems = append(problems, resolveKeySettings(&c, get)...)
	problems = append(problems, resolveLifecycle(&c, get)...)
	problems = append(problems, resolveTokenSettings(&c, get)...)
	var pageProblems []string
	c.Pages, pageProblems = loadPagesConfig(get)
	problems = append(problems, pageProblems...)
	var obsProblems []string
	c.Obs, obsProblems = loadObsConfig(get)
	problems = append(problems, obsProblems...)
	if v, ok := lookup(envDev); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: must be true or false", envDev, v))
		}
		c.Dev = b
	} else {
		c.Dev = isLoopbackURL(c.Issuer)
	}
	problems = append(problems, c.resolveAbuse(lookup)...)
	_, issuerSet := lookup(envIssuer)
	c.Addr = resolveAddr(c.Addr, addrSet, c.Issuer, issuerSet, stderr)
	return c, problems
}

// resolveAddr is the listen address: the one configured, or by default 127.0.0.1:8080 for a
// loopback issuer (development, where codes may be printed on the console, is not served to
// the network) and :8080 (every interface) for any other issuer. A listen address given
// without an issuer is warned about: tokens and redirects would still name the default
// issuer's port.
func resolveAddr(addr string, addrSet bool, issuer string, issuerSet bool, stderr io.Writer) string {
	if !addrSet {
		if isLoopbackURL(issuer) {
			return defaultDevAddr
		}
		return defaultAddr
	}
	if !issuerSet {
		_, port, err := net.SplitHostPort(addr)
		u, uerr := url.Parse(issuer)
		if err == nil && uerr == nil && port != u.Port() && port != "0" {
			fmt.Fprintf(stderr, "otpidp: warning: %s=%s but %s is %s: set %s (--issuer) to the URL browsers use to reach this address\n",
				envAddr, addr, envIssuer, issuer, envIssuer)
		}
	}
	return addr
}

// Validate reports every problem of the configuration in one *configError.
func (c *Config) Validate() error {
	if p := c.problems(); len(p) > 0 {
		return &configError{Problems: p}
	}
	return nil
}

// problems lists what is wrong with c.
func (c *Config) problems() []string {
	p := c.Pages.problems()

	if err := checkIssuer(c.Issuer, c.Dev); err != nil {
		p = append(p, fmt.Sprintf("%s=%q: %v", envIssuer, c.Issuer, err))
	}
	if err := checkAddr(c.Addr); err != nil {
		p = append(p, fmt.Sprintf("%s=%q: %v", envAddr, c.Addr, err))
	}
	if _, _, err := parseDatabaseURL(c.DatabaseURL); err != nil {
		p = append(p, fmt.Sprintf("%s=%q: %v", envDatabaseURL, redactDatabaseURL(c.DatabaseURL), err))
	}

	p = append(p, c.smsProblems()...) // smsconfig.go
	if c.TwilioAPIURL != "" {
		if u, err := url.Parse(c.TwilioAPIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p = append(p, fmt.Sprintf("%s=%q: must be an absolute http(s) URL", envTwilioAPIURL, c.TwilioAPIURL))
		}
	}

	if !isRegionCode(c.DefaultRegion) || phonenumbers.GetCountryCodeForRegion(c.DefaultRegion) == 0 {
		p = append(p, fmt.Sprintf("%s=%q: must be a two-letter region code known to the phone number library, like US or GB", envDefaultRegion, c.DefaultRegion))
	}
	switch {
	case c.ProductName == "":
		p = append(p, envProductName+" must not be empty")
	case len([]rune(c.ProductName)) > maxProductNameLength:
		p = append(p, fmt.Sprintf("%s: longer than %d characters", envProductName, maxProductNameLength))
	case strings.ContainsFunc(c.ProductName, unicode.IsControl):
		p = append(p, envProductName+" must not contain control characters")
	}
	if _, ok := parseLogLevel(c.LogLevel); !ok {
		p = append(p, fmt.Sprintf("%s=%q: must be debug, info, warn or error", envLogLevel, c.LogLevel))
	}
	p = append(p, c.keyProblems()...)
	p = append(p, c.lifecycleProblems()...)

	return p
}

func parseLogLevel(s string) (slog.Level, bool) {
	switch s {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// SlogLevel is LogLevel as a slog.Level.
func (c Config) SlogLevel() slog.Level {
	l, _ := parseLogLevel(c.LogLevel)
	return l
}

// isE164 reports whether s is +, a country code and number: 7 to 15 digits, not starting with 0.
func isE164(s string) bool {
	d, ok := strings.CutPrefix(s, "+")
	return ok && len(d) >= 7 && len(d) <= 15 && d[0] != '0' && isDigits(d)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// isRegionCode reports whether s is two upper-case ASCII letters.
func isRegionCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// OriginHost is the issuer's host name, without port: the host of the SMS line "@host #123456".
func (c Config) OriginHost() string {
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// LogValue lets a Config be logged: secrets are left out.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", c.Issuer),
		slog.String("addr", c.Addr),
		slog.String("database", redactDatabaseURL(c.DatabaseURL)),
		slog.Group("", c.smsLogAttrs()...),
		slog.String("default_region", c.DefaultRegion),
		slog.Bool("dev", c.Dev),
		slog.String("log_level", c.LogLevel),
	)
}

// checkIssuer accepts an absolute http(s) URL without query, fragment or user information;
// plain http only for a loopback host or in development mode.
func checkIssuer(raw string, dev bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("must be an absolute http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("has no host")
	case u.User != nil:
		return errors.New("must not contain user information")
	case u.RawQuery != "" || u.ForceQuery:
		return errors.New("must not have a query")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return errors.New("must not have a fragment")
	case strings.HasSuffix(raw, "/"):
		return errors.New("must not end with /")
	case u.Scheme == "http" && !dev && !isLoopbackURL(raw):
		return fmt.Errorf("http is only allowed for localhost; use https (or set %s=true for a test deployment)", envDev)
	}
	return nil
}

// isLoopbackURL reports whether raw's host is localhost, 127.0.0.1 or [::1].
func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// checkAddr accepts HOST:PORT with an empty or IP/name host and a numeric port.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be HOST:PORT or :PORT")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return errors.New("the port must be a number from 0 to 65535")
	}
	return nil
}

// Database backends.
const (
	backendSQLite   = "sqlite"
	backendPostgres = "postgres"
)

// parseDatabaseURL returns the backend and what to open: a file path for SQLite, the URL for
// PostgreSQL. "" is the default SQLite file.
func parseDatabaseURL(s string) (backend, target string, err error) {
	switch {
	case s == "":
		return backendSQLite, defaultSQLiteFile, nil
	case strings.HasPrefix(s, "sqlite:"):
		path := strings.TrimPrefix(s, "sqlite:")
		if path == "" {
			return "", "", errors.New("sqlite: needs a file path, like sqlite:otpidp.db")
		}
		if strings.HasPrefix(path, "//") {
			return "", "", errors.New("write sqlite:PATH, like sqlite:/var/lib/otpidp/otpidp.db, not sqlite://")
		}
		return backendSQLite, path, nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil {
			return "", "", errors.New("not a valid PostgreSQL URL")
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return "", "", errors.New("a PostgreSQL URL needs a host, like postgres://user@db.example.com/otpidp")
		}
		return backendPostgres, s, nil
	}
	return "", "", errors.New("must be sqlite:PATH or a postgres:// URL")
}

// redactDatabaseURL hides a password in a PostgreSQL URL.
func redactDatabaseURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// readEnvFile reads the .env file: path, or ./.env when path is empty (a missing ./.env is
// fine, a missing named file is a problem). It returns the values, the file read ("" if none)
// and the problems found.
func readEnvFile(path string) (map[string]string, string, []string) {
	name := path
	if name == "" {
		name = defaultEnvFile
	}
	f, err := os.Open(name)
	if err != nil {
		if path == "" && errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil
		}
		return nil, "", []string{fmt.Sprintf("env file %s: %v", name, errors.Unwrap(err))}
	}
	defer f.Close()
	values, problems := parseEnvFile(f, name)
	return values, name, problems
}

// maxEnvFileLine bounds one line of a .env file.
const maxEnvFileLine = 64 * 1024

// parseEnvFile parses KEY=VALUE lines: blank lines and lines starting with # are skipped, an
// "export " prefix is allowed, a value may be in single or double quotes (taken literally), an
// unquoted value ends at " #". Later lines win. Problems name the line, never its content (it
// may hold a secret).
func parseEnvFile(r io.Reader, name string) (map[string]string, []string) {
	values := map[string]string{}
	var problems []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxEnvFileLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, err := parseEnvLine(line)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s line %d: %v", name, n, err))
			continue
		}
		values[key] = value
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("%s line %d: %v", name, n+1, err))
	}
	return values, problems
}

func parseEnvLine(line string) (key, value string, err error) {
	if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		line = strings.TrimSpace(rest)
	}
	key, value, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", errors.New("expected KEY=VALUE")
	}
	key = strings.TrimSpace(key)
	if !isEnvKey(key) {
		return "", "", errors.New("the key must be letters, digits and _, not starting with a digit")
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return key, "", nil
	}
	if q := value[0]; q == '"' || q == '\'' {
		end := strings.IndexByte(value[1:], q)
		if end < 0 {
			return "", "", fmt.Errorf("unterminated %c quote", q)
		}
		rest := strings.TrimSpace(value[end+2:])
		if rest != "" && !strings.HasPrefix(rest, "#") {
			return "", "", errors.New("unexpected text after the closing quote")
		}
		return key, value[1 : end+1], nil
	}
	if i := strings.Index(value, " #"); i >= 0 {
		value = strings.TrimSpace(value[:i])
	} else if i := strings.Index(value, "\t#"); i >= 0 {
		value = strings.TrimSpace(value[:i])
	}
	return key, value, nil
}

// isEnvKey reports whether s is letters, digits and _, not starting with a digit.
func isEnvKey(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}
