package fleet

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/flowfence/flowfence/internal/tlsfiles"
)

// Scheme is the URL scheme of NATS servers.
const Scheme = "nats://"

// DefaultStream is the stream deltas go to when the URL names none.
const DefaultStream = "FLOWFENCE"

// Options are how flowfence connects to NATS: credentials and TLS (each
// from a flag or the config file), and the stream's replicas.
type Options struct {
	User, Password string
	Token          string
	// CredsFile is a NATS credentials file (JWT and NKey seed).
	CredsFile string
	// NKeyFile is a file holding an NKey seed.
	NKeyFile string
	// CAFiles are the CA certificates (PEM) the server's certificate must
	// chain to; CertFile and KeyFile are a client certificate.
	CAFiles           []string
	CertFile, KeyFile string
	// Replicas of a stream created by the publisher (1 when 0).
	Replicas int
	Logger   *slog.Logger
}

// Redact returns u without its password or token (for messages).
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	p.User = url.User("REDACTED")
	return p.String()
}

// server returns the servers part of a nats:// URL (what nats.Connect
// takes) and the URL parsed.
func parse(u string) (*url.URL, error) {
	if !strings.HasPrefix(u, Scheme) {
		return nil, fmt.Errorf("%s: not a nats:// URL", Redact(u))
	}
	p, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Redact(u), errors.Unwrap(err))
	}
	if p.Host == "" {
		return nil, fmt.Errorf("%s: no host (nats://HOST:4222)", Redact(u))
	}
	return p, nil
}

// connect opens a connection to the servers of p with o's credentials and
// TLS. Every refusal is told apart in the error, which holds no secret.
func connect(p *url.URL, o Options, name string) (*nats.Conn, error) {
	servers := &url.URL{Scheme: "nats", User: p.User, Host: p.Host}
	shown := Redact(servers.String())
	opts := []nats.Option{nats.Name(name), nats.Timeout(5 * time.Second), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if o.User != "" || o.Password != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.NKeyFile != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey %s: %w", o.NKeyFile, err)
		}
		opts = append(opts, opt)
	}
	if len(o.CAFiles) > 0 || o.CertFile != "" {
		cfg, err := tlsConfig(o)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(cfg))
	}
	lg := o.Logger
	opts = append(opts,
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if lg != nil && err != nil {
				lg.Warn("NATS connection lost; reconnecting", "server", shown, "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			if lg != nil {
				lg.Info("NATS reconnected", "server", Redact(c.ConnectedUrl()))
			}
		}))
	nc, err := nats.Connect(servers.String(), opts...)
	if err != nil {
		return nil, explain(shown, o, err)
	}
	return nc, nil
}

// explain names why a connection was refused, without a secret.
func explain(server string, o Options, err error) error {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	msg := err.Error()
	switch {
	case errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(msg), "authorization violation"):
		return fmt.Errorf("nats %s: the server refused the credentials (%s): %w", server, credentialsUsed(o), nats.ErrAuthorization)
	case errors.Is(err, nats.ErrAuthExpired):
		return fmt.Errorf("nats %s: the credentials have expired (%s): %w", server, credentialsUsed(o), err)
	case errors.As(err, &unknownCA), errors.As(err, &certErr) && strings.Contains(msg, "unknown authority"):
		return fmt.Errorf("nats %s: TLS: the server's certificate is not signed by a trusted CA (--nats-ca): %w", server, err)
	case errors.As(err, &hostErr):
		return fmt.Errorf("nats %s: TLS: the server's certificate is not for this host: %w", server, err)
	case errors.Is(err, nats.ErrSecureConnRequired):
		return fmt.Errorf("nats %s: the server requires TLS: give --nats-ca (and --nats-cert/--nats-key if it asks for a client certificate): %w", server, err)
	case errors.Is(err, nats.ErrSecureConnWanted):
		return fmt.Errorf("nats %s: TLS asked for (--nats-ca/--nats-cert) but the server does not offer it: %w", server, err)
	case strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") ||
		strings.Contains(msg, "closed by remote after TLS handshake"):
		return fmt.Errorf("nats %s: TLS: the server wants a client certificate it trusts (--nats-cert, --nats-key): %w", server, err)
	case errors.Is(err, nats.ErrNoServers):
		return fmt.Errorf("nats %s: no server answered: %w", server, err)
	}
	return fmt.Errorf("nats %s: %w", server, err)
}

// credentialsUsed names the kinds of credentials given (never their value).
func credentialsUsed(o Options) string {
	var kinds []string
	if o.User != "" {
		kinds = append(kinds, "user "+o.User+" and a password")
	}
	if o.Token != "" {
		kinds = append(kinds, "a token")
	}
	if o.CredsFile != "" {
		kinds = append(kinds, "creds file "+o.CredsFile)
	}
	if o.NKeyFile != "" {
		kinds = append(kinds, "nkey seed "+o.NKeyFile)
	}
	if o.CertFile != "" {
		kinds = append(kinds, "client certificate "+o.CertFile)
	}
	if len(kinds) == 0 {
		return "none given: --nats-user/--nats-password, --nats-token, --nats-creds or --nats-nkey"
	}
	return strings.Join(kinds, ", ")
}

func tlsConfig(o Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(o.CAFiles) > 0 {
		pool, err := tlsfiles.CertPool("--nats-ca", o.CAFiles...)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		if o.CertFile == "" || o.KeyFile == "" {
			return nil, errors.New("--nats-cert and --nats-key: give both for a client certificate")
		}
		cert, err := tlsfiles.KeyPair("--nats-cert", o.CertFile, "--nats-key", o.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
