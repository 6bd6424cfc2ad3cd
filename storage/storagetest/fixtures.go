package storagetest

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// hash returns the SHA-256 of s, standing in for the hash of a code or token.
func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newUser(id, phone string) storage.User {
	return storage.User{
		ID:            id,
		Phone:         phone,
		PhoneVerified: true,
		Name:          "User " + id,
		PasswordHash:  "$argon2id$v=19$m=47104,t=1,p=1$c2FsdHNhbHQ$" + id,
		CreatedAt:     at(-48 * time.Hour),
		UpdatedAt:     at(-24 * time.Hour),
	}
}

func newClient(id string) storage.Client {
	return storage.Client{
		ID:                     id,
		SecretHash:             hash("secret-" + id),
		Name:                   "Client " + id,
		RedirectURIs:           []string{"https://" + id + ".example/cb", "https://" + id + ".example/cb2"},
		PostLogoutRedirectURIs: []string{"https://" + id + ".example/bye"},
		Public:                 false,
		GrantTypes:             []string{"authorization_code", "refresh_token"},
		AccessTokenFormat:      "jwt",
		FirstParty:             true,
		CreatedAt:              at(-72 * time.Hour),
	}
}

// newAuthRequest returns a fresh request of client c1: not completed, no code.
func newAuthRequest(id string) storage.AuthRequest {
	return storage.AuthRequest{
		ID:                  id,
		ClientID:            "c1",
		RedirectURI:         "https://c1.example/cb",
		Scopes:              []string{"openid", "profile", "phone"},
		State:               "state-" + id,
		Nonce:               "nonce-" + id,
		ResponseType:        "code",
		ResponseMode:        "query",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Prompt:              []string{"login", "consent"},
		MaxAge:              -1,
		LoginHint:           "+15550000001",
		UILocales:           []string{"fr-CA", "en"},
		HintSubject:         "u1",
		IDTokenClaims:       []string{"name", "phone_number"},
		BrowserHash:         hash("browser-" + id),
		ClientIP:            "2001:db8:1:2::/64",
		CreatedAt:           at(-time.Minute),
		ExpiresAt:           at(30 * time.Minute),
	}
}

// newFlow returns a login flow of user u1 whose current code is code, sent 10 s before at(0),
// expiring at at(5m).
func newFlow(id, code string) storage.Flow {
	return storage.Flow{
		ID:            id,
		Kind:          storage.FlowLogin,
		AuthRequestID: "a-" + id,
		UserID:        "u1",
		Phone:         "+15550000001",
		BrowserHash:   hash("browser-" + id),
		CodeHash:      hash(code),
		CodeExpiresAt: at(5 * time.Minute),
		CodeSentAt:    at(-10 * time.Second),
		SendCount:     1,
		CreatedAt:     at(-time.Minute),
		ExpiresAt:     at(time.Hour),
	}
}

// newRegisterFlow returns a registration flow for phone whose code is code.
func newRegisterFlow(id, phone, code string) storage.Flow {
	f := newFlow(id, code)
	f.Kind = storage.FlowRegister
	f.UserID = ""
	f.Phone = phone
	f.Name = "New " + id
	f.PasswordHash = "$argon2id$v=19$m=47104,t=1,p=1$c2FsdHNhbHQ$" + id
	return f
}

func newSession(id, userID string) storage.Session {
	return storage.Session{
		ID:            id,
		TokenHash:     hash("session-" + id),
		UserID:        userID,
		AuthTime:      at(-2 * time.Minute),
		AMR:           []string{"pwd", "sms"},
		UserAgent:     "Mozilla/5.0 (" + id + ")",
		CreatedAt:     at(-2 * time.Minute),
		LastSeenAt:    at(-time.Minute),
		ExpiresAt:     at(24 * time.Hour),
		IdleExpiresAt: at(time.Hour),
	}
}

func newAccessToken(id, familyID, clientID, userID string) storage.AccessToken {
	return storage.AccessToken{
		ID:        id,
		FamilyID:  familyID,
		ClientID:  clientID,
		UserID:    userID,
		Scopes:    []string{"openid", "phone"},
		Audience:  []string{clientID, "https://api.example"},
		CreatedAt: at(-time.Minute),
		ExpiresAt: at(15 * time.Minute),
	}
}

func newRefreshToken(id, familyID, clientID, userID string) storage.RefreshToken {
	return storage.RefreshToken{
		ID:            id,
		TokenHash:     hash("refresh-" + id),
		FamilyID:      familyID,
		ClientID:      clientID,
		UserID:        userID,
		Scopes:        []string{"openid", "offline_access"},
		Audience:      []string{clientID},
		AMR:           []string{"pwd", "sms"},
		AuthTime:      at(-time.Hour),
		CreatedAt:     at(-time.Minute),
		ExpiresAt:     at(90 * 24 * time.Hour),
		IdleExpiresAt: at(30 * 24 * time.Hour),
	}
}

func newSigningKey(id, alg string, gen int) storage.SigningKey {
	return storage.SigningKey{
		ID:         id,
		Algorithm:  alg,
		Generation: gen,
		PrivateKey: hash("private-" + id),
		CreatedAt:  at(time.Duration(gen) * time.Hour),
		ActiveAt:   at(time.Duration(gen)*time.Hour + 30*time.Minute),
	}
}

// seed creates users u1 (+15550000001) and u2 (+15550000002) and clients c1 and c2, which the
// other fixtures refer to.
func seed(t *testing.T, s storage.Storage) {
	t.Helper()
	ctx := t.Context()
	mustOK(t, "seed user u1", s.CreateUser(ctx, newUser("u1", "+15550000001")))
	mustOK(t, "seed user u2", s.CreateUser(ctx, newUser("u2", "+15550000002")))
	mustOK(t, "seed client c1", s.CreateClient(ctx, newClient("c1")))
	mustOK(t, "seed client c2", s.CreateClient(ctx, newClient("c2")))
}
