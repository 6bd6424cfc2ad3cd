package authflow

import (
	"strings"
	"testing"
)

func TestFieldErrorMessages(t *testing.T) {
	seen := map[string]string{}
	for _, fe := range []FieldError{
		{FieldName, ReasonRequired}, {FieldName, ReasonTooLong}, {FieldName, ReasonControlCharacters},
		{FieldPassword, ReasonRequired}, {FieldPassword, ReasonTooShort}, {FieldPassword, ReasonTooLong},
		{FieldPassword, ReasonIsProductName}, {FieldPassword, ReasonIsName}, {FieldPassword, ReasonIsPhone},
		{FieldPassword, ReasonCommon}, {FieldCurrentPassword, ReasonThrottled},
	} {
		t.Run(fe.Field+"/"+string(fe.Reason), func(t *testing.T) {
			msg := fe.Message()
			if other, dup := seen[msg]; dup {
				t.Errorf("message %q also used for %s", msg, other)
			}
			seen[msg] = fe.Field + "/" + string(fe.Reason)
			if !strings.Contains(fe.Error(), string(fe.Reason)) {
				t.Errorf("Error() = %q lacks the reason", fe.Error())
			}
		})
	}
}
