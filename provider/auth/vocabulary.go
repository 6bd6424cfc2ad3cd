package auth

import (
	"fmt"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/sms"
)

// The vocabulary the pages share with the authenticator lives in provider/authflow (free of
// storage); these are its names as the authenticator's own.

// Sentinel errors (authflow).
var (
	ErrInvalidCredentials   = authflow.ErrInvalidCredentials
	ErrInvalidPhone         = authflow.ErrInvalidPhone
	ErrPhoneNotMobile       = authflow.ErrPhoneNotMobile
	ErrInvalidCode          = authflow.ErrInvalidCode
	ErrWrongRecoveryCode    = authflow.ErrWrongRecoveryCode
	ErrTooManyAttempts      = authflow.ErrTooManyAttempts
	ErrFlowNotFound         = authflow.ErrFlowNotFound
	ErrSMSPaused            = authflow.ErrSMSPaused
	ErrSMSCountryNotAllowed = authflow.ErrSMSCountryNotAllowed
	ErrSMSFactorDisabled    = authflow.ErrSMSFactorDisabled
	ErrPhoneRegistered      = authflow.ErrPhoneRegistered
	ErrRateLimited          = authflow.ErrRateLimited
)

// ErrSMSUndeliverable and ErrSMSUnavailable are authflow's, also wrapping the sender's errors
// (sms.ErrUndeliverable, sms.ErrUnavailable).
var (
	ErrSMSUndeliverable = fmt.Errorf("%w: %w", authflow.ErrSMSUndeliverable, sms.ErrUndeliverable)
	ErrSMSUnavailable   = fmt.Errorf("%w: %w", authflow.ErrSMSUnavailable, sms.ErrUnavailable)
)

// Error types and views (authflow).
type (
	TooSoonError = authflow.TooSoonError
	LimitError   = authflow.LimitError
	FieldError   = authflow.FieldError
	Reason       = authflow.Reason
	FlowView     = authflow.FlowView
	Result       = authflow.Result
)

// Scopes of a LimitError (authflow).
const (
	ScopeLoginIP     = authflow.ScopeLoginIP
	ScopeLoginGlobal = authflow.ScopeLoginGlobal
	ScopeSMSPhone    = authflow.ScopeSMSPhone
	ScopeSMSIP       = authflow.ScopeSMSIP
	ScopeSMSPrefix   = authflow.ScopeSMSPrefix
	ScopeSMSCountry  = authflow.ScopeSMSCountry
	ScopeSMSBudget   = authflow.ScopeSMSBudget
	ScopeRecovery    = authflow.ScopeRecovery
)

// Input bounds (authflow).
const (
	MinPasswordLength = authflow.MinPasswordLength
	MaxPasswordLength = authflow.MaxPasswordLength
	MaxPasswordBytes  = authflow.MaxPasswordBytes
	MaxNameLength     = authflow.MaxNameLength
)

// Fields and reasons of a FieldError (authflow).
const (
	FieldName            = authflow.FieldName
	FieldPassword        = authflow.FieldPassword
	FieldPasswordConfirm = authflow.FieldPasswordConfirm
	FieldCurrentPassword = authflow.FieldCurrentPassword

	ReasonRequired          = authflow.ReasonRequired
	ReasonTooShort          = authflow.ReasonTooShort
	ReasonTooLong           = authflow.ReasonTooLong
	ReasonInvalidEncoding   = authflow.ReasonInvalidEncoding
	ReasonControlCharacters = authflow.ReasonControlCharacters
	ReasonIsProductName     = authflow.ReasonIsProductName
	ReasonIsName            = authflow.ReasonIsName
	ReasonIsPhone           = authflow.ReasonIsPhone
	ReasonContainsPhone     = authflow.ReasonContainsPhone
	ReasonCommon            = authflow.ReasonCommon
	ReasonMismatch          = authflow.ReasonMismatch
	ReasonWrongCurrent      = authflow.ReasonWrongCurrent
	ReasonThrottled         = authflow.ReasonThrottled
)
