/*
 * diam_dict.c - Cx, Sh, Ro and Rf dictionary objects from tables
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "diam_dict.h"
#include "log.h"

#include <errno.h>
#include <string.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#define V3GPP IMS_VENDOR_3GPP
#define VETSI IMS_VENDOR_ETSI
#define VCL IMS_VENDOR_CABLELABS

/* Derived types, looked up by name so dumps and Wireshark-like decoders print text */
enum dtype { T_NONE = 0, T_UTF8, T_IDENT, T_URI, T_TIME, T_ENUM };

struct avp_def {
    uint32_t code;
    uint32_t vendor;
    const char *name;
    enum dict_avp_basetype base;
    enum dtype dtype;
    bool no_m;              /* the M bit must not be set (RFC 7683 7) */
};

/* Indexed by enum ims_avp; order must match the enum. */
static const struct avp_def avp_defs[IMS_AVP_COUNT] = {
    [IMS_AVP_SESSION_ID] = { 263, 0, "Session-Id", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_ORIGIN_HOST] = { 264, 0, "Origin-Host", AVP_TYPE_OCTETSTRING, T_IDENT },
    [IMS_AVP_ORIGIN_REALM] = { 296, 0, "Origin-Realm", AVP_TYPE_OCTETSTRING, T_IDENT },
    [IMS_AVP_DESTINATION_HOST] = { 293, 0, "Destination-Host", AVP_TYPE_OCTETSTRING, T_IDENT },
    [IMS_AVP_DESTINATION_REALM] = { 283, 0, "Destination-Realm", AVP_TYPE_OCTETSTRING,
                                    T_IDENT },
    [IMS_AVP_AUTH_SESSION_STATE] = { 277, 0, "Auth-Session-State", AVP_TYPE_INTEGER32,
                                     T_ENUM },
    [IMS_AVP_AUTH_APPLICATION_ID] = { 258, 0, "Auth-Application-Id", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_ACCT_APPLICATION_ID] = { 259, 0, "Acct-Application-Id", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_VENDOR_ID] = { 266, 0, "Vendor-Id", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_VENDOR_SPECIFIC_APPLICATION_ID] = { 260, 0, "Vendor-Specific-Application-Id",
                                                 AVP_TYPE_GROUPED },
    [IMS_AVP_RESULT_CODE] = { 268, 0, "Result-Code", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_EXPERIMENTAL_RESULT] = { 297, 0, "Experimental-Result", AVP_TYPE_GROUPED },
    [IMS_AVP_EXPERIMENTAL_RESULT_CODE] = { 298, 0, "Experimental-Result-Code",
                                           AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_ERROR_MESSAGE] = { 281, 0, "Error-Message", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_USER_NAME] = { 1, 0, "User-Name", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_REDIRECT_HOST] = { 292, 0, "Redirect-Host", AVP_TYPE_OCTETSTRING, T_URI },
    [IMS_AVP_REDIRECT_HOST_USAGE] = { 261, 0, "Redirect-Host-Usage", AVP_TYPE_INTEGER32,
                                      T_ENUM },
    [IMS_AVP_ACCOUNTING_RECORD_TYPE] = { 480, 0, "Accounting-Record-Type", AVP_TYPE_INTEGER32,
                                         T_ENUM },
    [IMS_AVP_ACCOUNTING_RECORD_NUMBER] = { 485, 0, "Accounting-Record-Number",
                                           AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_ACCT_INTERIM_INTERVAL] = { 85, 0, "Acct-Interim-Interval", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_EVENT_TIMESTAMP] = { 55, 0, "Event-Timestamp", AVP_TYPE_OCTETSTRING, T_TIME },
    [IMS_AVP_ORIGIN_STATE_ID] = { 278, 0, "Origin-State-Id", AVP_TYPE_UNSIGNED32 },

    [IMS_AVP_VISITED_NETWORK_IDENTIFIER] = { 600, V3GPP, "Visited-Network-Identifier",
                                             AVP_TYPE_OCTETSTRING },
    [IMS_AVP_PUBLIC_IDENTITY] = { 601, V3GPP, "Public-Identity", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_SERVER_NAME] = { 602, V3GPP, "Server-Name", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_SERVER_CAPABILITIES] = { 603, V3GPP, "Server-Capabilities", AVP_TYPE_GROUPED },
    [IMS_AVP_MANDATORY_CAPABILITY] = { 604, V3GPP, "Mandatory-Capability",
                                       AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_OPTIONAL_CAPABILITY] = { 605, V3GPP, "Optional-Capability", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_USER_DATA] = { 606, V3GPP, "User-Data", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_SIP_NUMBER_AUTH_ITEMS] = { 607, V3GPP, "SIP-Number-Auth-Items",
                                        AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_SIP_AUTHENTICATION_SCHEME] = { 608, V3GPP, "SIP-Authentication-Scheme",
                                            AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_SIP_AUTHENTICATE] = { 609, V3GPP, "SIP-Authenticate", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_SIP_AUTHORIZATION] = { 610, V3GPP, "SIP-Authorization", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_SIP_AUTHENTICATION_CONTEXT] = { 611, V3GPP, "SIP-Authentication-Context",
                                             AVP_TYPE_OCTETSTRING },
    [IMS_AVP_SIP_AUTH_DATA_ITEM] = { 612, V3GPP, "SIP-Auth-Data-Item", AVP_TYPE_GROUPED },
    [IMS_AVP_SIP_ITEM_NUMBER] = { 613, V3GPP, "SIP-Item-Number", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_SERVER_ASSIGNMENT_TYPE] = { 614, V3GPP, "Server-Assignment-Type",
                                         AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_DEREGISTRATION_REASON] = { 615, V3GPP, "Deregistration-Reason",
                                        AVP_TYPE_GROUPED },
    [IMS_AVP_REASON_CODE] = { 616, V3GPP, "Reason-Code", AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_REASON_INFO] = { 617, V3GPP, "Reason-Info", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_CHARGING_INFORMATION] = { 618, V3GPP, "Charging-Information", AVP_TYPE_GROUPED },
    [IMS_AVP_PRIMARY_EVENT_CHARGING_FUNCTION_NAME] = {
        619, V3GPP, "Primary-Event-Charging-Function-Name", AVP_TYPE_OCTETSTRING, T_URI },
    [IMS_AVP_SECONDARY_EVENT_CHARGING_FUNCTION_NAME] = {
        620, V3GPP, "Secondary-Event-Charging-Function-Name", AVP_TYPE_OCTETSTRING, T_URI },
    [IMS_AVP_PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME] = {
        621, V3GPP, "Primary-Charging-Collection-Function-Name", AVP_TYPE_OCTETSTRING, T_URI },
    [IMS_AVP_SECONDARY_CHARGING_COLLECTION_FUNCTION_NAME] = {
        622, V3GPP, "Secondary-Charging-Collection-Function-Name", AVP_TYPE_OCTETSTRING,
        T_URI },
    [IMS_AVP_USER_AUTHORIZATION_TYPE] = { 623, V3GPP, "User-Authorization-Type",
                                          AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_USER_DATA_ALREADY_AVAILABLE] = { 624, V3GPP, "User-Data-Already-Available",
                                              AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_CONFIDENTIALITY_KEY] = { 625, V3GPP, "Confidentiality-Key",
                                      AVP_TYPE_OCTETSTRING },
    [IMS_AVP_INTEGRITY_KEY] = { 626, V3GPP, "Integrity-Key", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_SUPPORTED_FEATURES] = { 628, V3GPP, "Supported-Features", AVP_TYPE_GROUPED },
    [IMS_AVP_FEATURE_LIST_ID] = { 629, V3GPP, "Feature-List-ID", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_FEATURE_LIST] = { 630, V3GPP, "Feature-List", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_ASSOCIATED_IDENTITIES] = { 632, V3GPP, "Associated-Identities",
                                        AVP_TYPE_GROUPED },
    [IMS_AVP_ORIGINATING_REQUEST] = { 633, V3GPP, "Originating-Request", AVP_TYPE_INTEGER32,
                                      T_ENUM },
    [IMS_AVP_WILDCARDED_PUBLIC_IDENTITY] = { 634, V3GPP, "Wildcarded-Public-Identity",
                                             AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_SIP_DIGEST_AUTHENTICATE] = { 635, V3GPP, "SIP-Digest-Authenticate",
                                          AVP_TYPE_GROUPED },
    [IMS_AVP_WILDCARDED_IMPU] = { 636, V3GPP, "Wildcarded-IMPU", AVP_TYPE_OCTETSTRING,
                                  T_UTF8 },
    [IMS_AVP_UAR_FLAGS] = { 637, V3GPP, "UAR-Flags", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_LOOSE_ROUTE_INDICATION] = { 638, V3GPP, "Loose-Route-Indication",
                                         AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_SCSCF_RESTORATION_INFO] = { 639, V3GPP, "SCSCF-Restoration-Info",
                                         AVP_TYPE_GROUPED },
    [IMS_AVP_PATH] = { 640, V3GPP, "Path", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_CONTACT] = { 641, V3GPP, "Contact", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_SUBSCRIPTION_INFO] = { 642, V3GPP, "Subscription-Info", AVP_TYPE_GROUPED },
    [IMS_AVP_CALL_ID_SIP_HEADER] = { 643, V3GPP, "Call-ID-SIP-Header", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_FROM_SIP_HEADER] = { 644, V3GPP, "From-SIP-Header", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_TO_SIP_HEADER] = { 645, V3GPP, "To-SIP-Header", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_RECORD_ROUTE] = { 646, V3GPP, "Record-Route", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_ASSOCIATED_REGISTERED_IDENTITIES] = { 647, V3GPP,
                                                   "Associated-Registered-Identities",
                                                   AVP_TYPE_GROUPED },
    [IMS_AVP_MULTIPLE_REGISTRATION_INDICATION] = { 648, V3GPP,
                                                   "Multiple-Registration-Indication",
                                                   AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_RESTORATION_INFO] = { 649, V3GPP, "Restoration-Info", AVP_TYPE_GROUPED },
    [IMS_AVP_SESSION_PRIORITY] = { 650, V3GPP, "Session-Priority", AVP_TYPE_INTEGER32,
                                   T_ENUM },
    [IMS_AVP_IDENTITY_WITH_EMERGENCY_REGISTRATION] = {
        651, V3GPP, "Identity-with-Emergency-Registration", AVP_TYPE_GROUPED },
    [IMS_AVP_LIA_FLAGS] = { 653, V3GPP, "LIA-Flags", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_SAR_FLAGS] = { 655, V3GPP, "SAR-Flags", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_DIGEST_REALM] = { 104, 0, "Digest-Realm", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_DIGEST_QOP] = { 110, 0, "Digest-QoP", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_DIGEST_ALGORITHM] = { 111, 0, "Digest-Algorithm", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_DIGEST_HA1] = { 121, 0, "Digest-HA1", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_FRAMED_IP_ADDRESS] = { 8, 0, "Framed-IP-Address", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_FRAMED_IPV6_PREFIX] = { 97, 0, "Framed-IPv6-Prefix", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_LINE_IDENTIFIER] = { 500, VETSI, "Line-Identifier", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_ETSI_SIP_AUTHENTICATE] = { 501, VETSI, "ETSI-SIP-Authenticate", AVP_TYPE_GROUPED },
    [IMS_AVP_ETSI_DIGEST_REALM] = { 504, VETSI, "ETSI-Digest-Realm", AVP_TYPE_OCTETSTRING,
                                    T_UTF8 },
    [IMS_AVP_ETSI_DIGEST_NONCE] = { 505, VETSI, "ETSI-Digest-Nonce", AVP_TYPE_OCTETSTRING,
                                    T_UTF8 },
    [IMS_AVP_ETSI_DIGEST_ALGORITHM] = { 509, VETSI, "ETSI-Digest-Algorithm",
                                        AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_ETSI_DIGEST_QOP] = { 510, VETSI, "ETSI-Digest-QoP", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_ETSI_DIGEST_HA1] = { 511, VETSI, "ETSI-Digest-HA1", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_CABLELABS_SIP_DIGEST_AUTHENTICATE] = { 228, VCL, "CableLabs-SIP-Digest-Authenticate",
                                                    AVP_TYPE_GROUPED },
    [IMS_AVP_CABLELABS_DIGEST_REALM] = { 209, VCL, "CableLabs-Digest-Realm",
                                         AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_CABLELABS_DIGEST_ALGORITHM] = { 204, VCL, "CableLabs-Digest-Algorithm",
                                             AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_CABLELABS_DIGEST_QOP] = { 208, VCL, "CableLabs-Digest-QoP", AVP_TYPE_OCTETSTRING,
                                       T_UTF8 },
    [IMS_AVP_CABLELABS_DIGEST_HA1] = { 207, VCL, "CableLabs-Digest-HA1", AVP_TYPE_OCTETSTRING,
                                       T_UTF8 },

    [IMS_AVP_USER_IDENTITY] = { 700, V3GPP, "User-Identity", AVP_TYPE_GROUPED },
    [IMS_AVP_MSISDN] = { 701, V3GPP, "MSISDN", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_SH_USER_DATA] = { 702, V3GPP, "User-Data-29.329", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_DATA_REFERENCE] = { 703, V3GPP, "Data-Reference", AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_SERVICE_INDICATION] = { 704, V3GPP, "Service-Indication", AVP_TYPE_OCTETSTRING },
    [IMS_AVP_SUBS_REQ_TYPE] = { 705, V3GPP, "Subs-Req-Type", AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_REQUESTED_DOMAIN] = { 706, V3GPP, "Requested-Domain", AVP_TYPE_INTEGER32,
                                   T_ENUM },
    [IMS_AVP_CURRENT_LOCATION] = { 707, V3GPP, "Current-Location", AVP_TYPE_INTEGER32,
                                   T_ENUM },
    [IMS_AVP_IDENTITY_SET] = { 708, V3GPP, "Identity-Set", AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_EXPIRY_TIME] = { 709, V3GPP, "Expiry-Time", AVP_TYPE_OCTETSTRING, T_TIME },
    [IMS_AVP_SEND_DATA_INDICATION] = { 710, V3GPP, "Send-Data-Indication", AVP_TYPE_INTEGER32,
                                       T_ENUM },
    [IMS_AVP_REPOSITORY_DATA_ID] = { 715, V3GPP, "Repository-Data-ID", AVP_TYPE_GROUPED },
    [IMS_AVP_SEQUENCE_NUMBER] = { 716, V3GPP, "Sequence-Number", AVP_TYPE_UNSIGNED32 },

    [IMS_AVP_CC_REQUEST_TYPE] = { 416, 0, "CC-Request-Type", AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_CC_REQUEST_NUMBER] = { 415, 0, "CC-Request-Number", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_SERVICE_CONTEXT_ID] = { 461, 0, "Service-Context-Id", AVP_TYPE_OCTETSTRING,
                                     T_UTF8 },
    [IMS_AVP_SUBSCRIPTION_ID] = { 443, 0, "Subscription-Id", AVP_TYPE_GROUPED },
    [IMS_AVP_SUBSCRIPTION_ID_TYPE] = { 450, 0, "Subscription-Id-Type", AVP_TYPE_INTEGER32,
                                       T_ENUM },
    [IMS_AVP_SUBSCRIPTION_ID_DATA] = { 444, 0, "Subscription-Id-Data", AVP_TYPE_OCTETSTRING,
                                       T_UTF8 },
    [IMS_AVP_MULTIPLE_SERVICES_CREDIT_CONTROL] = { 456, 0, "Multiple-Services-Credit-Control",
                                                   AVP_TYPE_GROUPED },
    [IMS_AVP_REQUESTED_SERVICE_UNIT] = { 437, 0, "Requested-Service-Unit", AVP_TYPE_GROUPED },
    [IMS_AVP_USED_SERVICE_UNIT] = { 446, 0, "Used-Service-Unit", AVP_TYPE_GROUPED },
    [IMS_AVP_GRANTED_SERVICE_UNIT] = { 431, 0, "Granted-Service-Unit", AVP_TYPE_GROUPED },
    [IMS_AVP_CC_TIME] = { 420, 0, "CC-Time", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_CC_SERVICE_SPECIFIC_UNITS] = { 417, 0, "CC-Service-Specific-Units",
                                            AVP_TYPE_UNSIGNED64 },
    [IMS_AVP_SERVICE_IDENTIFIER] = { 439, 0, "Service-Identifier", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_RATING_GROUP] = { 432, 0, "Rating-Group", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_VALIDITY_TIME] = { 448, 0, "Validity-Time", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_FINAL_UNIT_INDICATION] = { 430, 0, "Final-Unit-Indication", AVP_TYPE_GROUPED },
    [IMS_AVP_FINAL_UNIT_ACTION] = { 449, 0, "Final-Unit-Action", AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_REQUESTED_ACTION] = { 436, 0, "Requested-Action", AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_MULTIPLE_SERVICES_INDICATOR] = { 455, 0, "Multiple-Services-Indicator",
                                              AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_CC_FAILURE_HANDLING] = { 427, 0, "Credit-Control-Failure-Handling",
                                      AVP_TYPE_INTEGER32, T_ENUM },

    [IMS_AVP_SERVICE_INFORMATION] = { 873, V3GPP, "Service-Information", AVP_TYPE_GROUPED },
    [IMS_AVP_IMS_INFORMATION] = { 876, V3GPP, "IMS-Information", AVP_TYPE_GROUPED },
    [IMS_AVP_NODE_FUNCTIONALITY] = { 862, V3GPP, "Node-Functionality", AVP_TYPE_INTEGER32,
                                     T_ENUM },
    [IMS_AVP_ROLE_OF_NODE] = { 829, V3GPP, "Role-Of-Node", AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_IMS_CHARGING_IDENTIFIER] = { 841, V3GPP, "IMS-Charging-Identifier",
                                          AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_CALLING_PARTY_ADDRESS] = { 831, V3GPP, "Calling-Party-Address",
                                        AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_CALLED_PARTY_ADDRESS] = { 832, V3GPP, "Called-Party-Address",
                                       AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_EVENT_TYPE] = { 823, V3GPP, "Event-Type", AVP_TYPE_GROUPED },
    [IMS_AVP_SIP_METHOD] = { 824, V3GPP, "SIP-Method", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_EVENT] = { 825, V3GPP, "Event", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_TIME_STAMPS] = { 833, V3GPP, "Time-Stamps", AVP_TYPE_GROUPED },
    [IMS_AVP_SIP_REQUEST_TIMESTAMP] = { 834, V3GPP, "SIP-Request-Timestamp",
                                        AVP_TYPE_OCTETSTRING, T_TIME },
    [IMS_AVP_SIP_RESPONSE_TIMESTAMP] = { 835, V3GPP, "SIP-Response-Timestamp",
                                         AVP_TYPE_OCTETSTRING, T_TIME },
    [IMS_AVP_INTER_OPERATOR_IDENTIFIER] = { 838, V3GPP, "Inter-Operator-Identifier",
                                            AVP_TYPE_GROUPED },
    [IMS_AVP_ORIGINATING_IOI] = { 839, V3GPP, "Originating-IOI", AVP_TYPE_OCTETSTRING,
                                  T_UTF8 },
    [IMS_AVP_TERMINATING_IOI] = { 840, V3GPP, "Terminating-IOI", AVP_TYPE_OCTETSTRING,
                                  T_UTF8 },
    [IMS_AVP_CAUSE_CODE] = { 861, V3GPP, "Cause-Code", AVP_TYPE_INTEGER32 },
    [IMS_AVP_USER_SESSION_ID] = { 830, V3GPP, "User-Session-Id", AVP_TYPE_OCTETSTRING,
                                  T_UTF8 },
    [IMS_AVP_SDP_SESSION_DESCRIPTION] = { 842, V3GPP, "SDP-Session-Description",
                                          AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_SDP_MEDIA_COMPONENT] = { 843, V3GPP, "SDP-Media-Component", AVP_TYPE_GROUPED },
    [IMS_AVP_SDP_MEDIA_NAME] = { 844, V3GPP, "SDP-Media-Name", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_SDP_MEDIA_DESCRIPTION] = { 845, V3GPP, "SDP-Media-Description",
                                        AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_MEDIA_INITIATOR_FLAG] = { 882, V3GPP, "Media-Initiator-Flag", AVP_TYPE_INTEGER32,
                                       T_ENUM },
    [IMS_AVP_REPORTING_REASON] = { 872, V3GPP, "Reporting-Reason", AVP_TYPE_INTEGER32,
                                   T_ENUM },
    [IMS_AVP_TRUNK_GROUP_ID] = { 851, V3GPP, "Trunk-Group-Id", AVP_TYPE_GROUPED },
    [IMS_AVP_INCOMING_TRUNK_GROUP_ID] = { 852, V3GPP, "Incoming-Trunk-Group-Id",
                                          AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_OUTGOING_TRUNK_GROUP_ID] = { 853, V3GPP, "Outgoing-Trunk-Group-Id",
                                          AVP_TYPE_OCTETSTRING, T_UTF8 },

    [IMS_AVP_TERMINATION_CAUSE] = { 295, 0, "Termination-Cause", AVP_TYPE_INTEGER32, T_ENUM },
    [IMS_AVP_COST_INFORMATION] = { 423, 0, "Cost-Information", AVP_TYPE_GROUPED },
    [IMS_AVP_UNIT_VALUE] = { 445, 0, "Unit-Value", AVP_TYPE_GROUPED },
    [IMS_AVP_VALUE_DIGITS] = { 447, 0, "Value-Digits", AVP_TYPE_INTEGER64 },
    [IMS_AVP_EXPONENT] = { 429, 0, "Exponent", AVP_TYPE_INTEGER32 },
    [IMS_AVP_CURRENCY_CODE] = { 425, 0, "Currency-Code", AVP_TYPE_UNSIGNED32 },
    [IMS_AVP_COST_UNIT] = { 424, 0, "Cost-Unit", AVP_TYPE_OCTETSTRING, T_UTF8 },
    [IMS_AVP_CHECK_BALANCE_RESULT] = { 422, 0, "Check-Balance-Result", AVP_TYPE_INTEGER32,
                                       T_ENUM },
    [IMS_AVP_CC_SESSION_FAILOVER] = { 418, 0, "CC-Session-Failover", AVP_TYPE_INTEGER32,
                                      T_ENUM },

    /* RFC 7683 section 7: freeDiameter 1.2.1 (Debian) has no dictionary of them */
    [IMS_AVP_OC_SUPPORTED_FEATURES] = { 621, 0, "OC-Supported-Features", AVP_TYPE_GROUPED,
                                        T_NONE, true },
    [IMS_AVP_OC_FEATURE_VECTOR] = { 622, 0, "OC-Feature-Vector", AVP_TYPE_UNSIGNED64, T_NONE,
                                    true },
    [IMS_AVP_OC_OLR] = { 623, 0, "OC-OLR", AVP_TYPE_GROUPED, T_NONE, true },
    [IMS_AVP_OC_SEQUENCE_NUMBER] = { 624, 0, "OC-Sequence-Number", AVP_TYPE_UNSIGNED64, T_NONE,
                                     true },
    [IMS_AVP_OC_VALIDITY_DURATION] = { 625, 0, "OC-Validity-Duration", AVP_TYPE_UNSIGNED32,
                                       T_NONE, true },
    [IMS_AVP_OC_REPORT_TYPE] = { 626, 0, "OC-Report-Type", AVP_TYPE_INTEGER32, T_ENUM, true },
    [IMS_AVP_OC_REDUCTION_PERCENTAGE] = { 627, 0, "OC-Reduction-Percentage",
                                          AVP_TYPE_UNSIGNED32, T_NONE, true },
};

struct app_def {
    uint32_t id;
    const char *name;       /* dictionary name, used when we create it */
    const char *abbrev;
    bool vendor_specific;   /* advertised and addressed as Vendor-Specific-Application-Id */
};

static const struct app_def app_defs[IMS_APP_COUNT] = {
    [IMS_APP_CX] = { IMS_APP_ID_CX, "3GPP Cx/Dx", "Cx", true },
    [IMS_APP_SH] = { IMS_APP_ID_SH, "3GPP Sh", "Sh", true },
    [IMS_APP_RO] = { IMS_APP_ID_RO, "Diameter Credit Control Application", "Ro", false },
    [IMS_APP_RF] = { IMS_APP_ID_RF, "Diameter Base Accounting", "Rf", false },
};

struct cmd_def {
    uint32_t code;
    enum ims_app app;
    bool request;
    const char *name;
    const char *abbrev;
    bool ours;              /* defined here (Cx, Sh); otherwise looked up */
};

static const struct cmd_def cmd_defs[IMS_CMD_COUNT] = {
    [IMS_CMD_UAR] = { 300, IMS_APP_CX, true, "User-Authorization-Request", "UAR", true },
    [IMS_CMD_UAA] = { 300, IMS_APP_CX, false, "User-Authorization-Answer", "UAA", true },
    [IMS_CMD_SAR] = { 301, IMS_APP_CX, true, "Server-Assignment-Request", "SAR", true },
    [IMS_CMD_SAA] = { 301, IMS_APP_CX, false, "Server-Assignment-Answer", "SAA", true },
    [IMS_CMD_LIR] = { 302, IMS_APP_CX, true, "Location-Info-Request", "LIR", true },
    [IMS_CMD_LIA] = { 302, IMS_APP_CX, false, "Location-Info-Answer", "LIA", true },
    [IMS_CMD_MAR] = { 303, IMS_APP_CX, true, "Multimedia-Auth-Request", "MAR", true },
    [IMS_CMD_MAA] = { 303, IMS_APP_CX, false, "Multimedia-Auth-Answer", "MAA", true },
    [IMS_CMD_RTR] = { 304, IMS_APP_CX, true, "Registration-Termination-Request", "RTR", true },
    [IMS_CMD_RTA] = { 304, IMS_APP_CX, false, "Registration-Termination-Answer", "RTA", true },
    [IMS_CMD_PPR] = { 305, IMS_APP_CX, true, "Push-Profile-Request", "PPR", true },
    [IMS_CMD_PPA] = { 305, IMS_APP_CX, false, "Push-Profile-Answer", "PPA", true },
    [IMS_CMD_UDR] = { 306, IMS_APP_SH, true, "User-Data-Request", "UDR", true },
    [IMS_CMD_UDA] = { 306, IMS_APP_SH, false, "User-Data-Answer", "UDA", true },
    [IMS_CMD_PUR] = { 307, IMS_APP_SH, true, "Profile-Update-Request", "PUR", true },
    [IMS_CMD_PUA] = { 307, IMS_APP_SH, false, "Profile-Update-Answer", "PUA", true },
    [IMS_CMD_SNR] = { 308, IMS_APP_SH, true, "Subscribe-Notifications-Request", "SNR", true },
    [IMS_CMD_SNA] = { 308, IMS_APP_SH, false, "Subscribe-Notifications-Answer", "SNA", true },
    [IMS_CMD_PNR] = { 309, IMS_APP_SH, true, "Push-Notification-Request", "PNR", true },
    [IMS_CMD_PNA] = { 309, IMS_APP_SH, false, "Push-Notification-Answer", "PNA", true },
    [IMS_CMD_CCR] = { 272, IMS_APP_RO, true, "Credit-Control-Request", "CCR", false },
    [IMS_CMD_CCA] = { 272, IMS_APP_RO, false, "Credit-Control-Answer", "CCA", false },
    [IMS_CMD_ACR] = { 271, IMS_APP_RF, true, "Accounting-Request", "ACR", false },
    [IMS_CMD_ACA] = { 271, IMS_APP_RF, false, "Accounting-Answer", "ACA", false },
};

/*
 * Command rules (ABNF of TS 29.229 section 6.1 and TS 29.329 section 6.1), for the commands
 * defined here. 'H' fixed head, 'R' required once {x}, 'M' required one or more *{x},
 * 'O' optional at most once [x]. AVPs that may repeat optionally (*[x]) need no rule.
 * Answers carry only the head and the origin: freeDiameter drops an answer that fails its
 * rules, and an error answer (E bit) legitimately lacks most AVPs.
 */
struct rule_def {
    enum ims_cmd cmd;
    enum ims_avp avp;
    char kind;
};

#define CX_REQ_COMMON(c)                                                        \
    { c, IMS_AVP_SESSION_ID, 'H' }, { c, IMS_AVP_VENDOR_SPECIFIC_APPLICATION_ID, 'R' }, \
    { c, IMS_AVP_AUTH_SESSION_STATE, 'R' }, { c, IMS_AVP_ORIGIN_HOST, 'R' },             \
    { c, IMS_AVP_ORIGIN_REALM, 'R' }, { c, IMS_AVP_DESTINATION_REALM, 'R' }
#define ANS_COMMON(c)                                                           \
    { c, IMS_AVP_SESSION_ID, 'H' }, { c, IMS_AVP_ORIGIN_HOST, 'R' },            \
    { c, IMS_AVP_ORIGIN_REALM, 'R' }, { c, IMS_AVP_RESULT_CODE, 'O' },          \
    { c, IMS_AVP_EXPERIMENTAL_RESULT, 'O' }

static const struct rule_def rule_defs[] = {
    CX_REQ_COMMON(IMS_CMD_UAR),
    { IMS_CMD_UAR, IMS_AVP_DESTINATION_HOST, 'O' },
    { IMS_CMD_UAR, IMS_AVP_USER_NAME, 'R' },
    { IMS_CMD_UAR, IMS_AVP_PUBLIC_IDENTITY, 'R' },
    { IMS_CMD_UAR, IMS_AVP_VISITED_NETWORK_IDENTIFIER, 'R' },
    { IMS_CMD_UAR, IMS_AVP_USER_AUTHORIZATION_TYPE, 'O' },
    { IMS_CMD_UAR, IMS_AVP_UAR_FLAGS, 'O' },
    ANS_COMMON(IMS_CMD_UAA),

    CX_REQ_COMMON(IMS_CMD_SAR),
    { IMS_CMD_SAR, IMS_AVP_DESTINATION_HOST, 'O' },
    { IMS_CMD_SAR, IMS_AVP_USER_NAME, 'O' },
    { IMS_CMD_SAR, IMS_AVP_WILDCARDED_PUBLIC_IDENTITY, 'O' },
    { IMS_CMD_SAR, IMS_AVP_SERVER_NAME, 'R' },
    { IMS_CMD_SAR, IMS_AVP_SERVER_ASSIGNMENT_TYPE, 'R' },
    { IMS_CMD_SAR, IMS_AVP_USER_DATA_ALREADY_AVAILABLE, 'R' },
    { IMS_CMD_SAR, IMS_AVP_SCSCF_RESTORATION_INFO, 'O' },
    { IMS_CMD_SAR, IMS_AVP_MULTIPLE_REGISTRATION_INDICATION, 'O' },
    { IMS_CMD_SAR, IMS_AVP_SESSION_PRIORITY, 'O' },
    { IMS_CMD_SAR, IMS_AVP_SAR_FLAGS, 'O' },
    ANS_COMMON(IMS_CMD_SAA),

    CX_REQ_COMMON(IMS_CMD_LIR),
    { IMS_CMD_LIR, IMS_AVP_DESTINATION_HOST, 'O' },
    { IMS_CMD_LIR, IMS_AVP_ORIGINATING_REQUEST, 'O' },
    { IMS_CMD_LIR, IMS_AVP_PUBLIC_IDENTITY, 'R' },
    { IMS_CMD_LIR, IMS_AVP_USER_AUTHORIZATION_TYPE, 'O' },
    { IMS_CMD_LIR, IMS_AVP_SESSION_PRIORITY, 'O' },
    ANS_COMMON(IMS_CMD_LIA),

    CX_REQ_COMMON(IMS_CMD_MAR),
    { IMS_CMD_MAR, IMS_AVP_DESTINATION_HOST, 'O' },
    { IMS_CMD_MAR, IMS_AVP_USER_NAME, 'R' },
    { IMS_CMD_MAR, IMS_AVP_PUBLIC_IDENTITY, 'R' },
    { IMS_CMD_MAR, IMS_AVP_SIP_AUTH_DATA_ITEM, 'R' },
    { IMS_CMD_MAR, IMS_AVP_SIP_NUMBER_AUTH_ITEMS, 'R' },
    { IMS_CMD_MAR, IMS_AVP_SERVER_NAME, 'R' },
    ANS_COMMON(IMS_CMD_MAA),

    CX_REQ_COMMON(IMS_CMD_RTR),
    { IMS_CMD_RTR, IMS_AVP_DESTINATION_HOST, 'R' },
    { IMS_CMD_RTR, IMS_AVP_USER_NAME, 'R' },
    { IMS_CMD_RTR, IMS_AVP_DEREGISTRATION_REASON, 'R' },
    ANS_COMMON(IMS_CMD_RTA),

    CX_REQ_COMMON(IMS_CMD_PPR),
    { IMS_CMD_PPR, IMS_AVP_DESTINATION_HOST, 'R' },
    { IMS_CMD_PPR, IMS_AVP_USER_NAME, 'R' },
    { IMS_CMD_PPR, IMS_AVP_USER_DATA, 'O' },
    { IMS_CMD_PPR, IMS_AVP_CHARGING_INFORMATION, 'O' },
    { IMS_CMD_PPR, IMS_AVP_SIP_AUTH_DATA_ITEM, 'O' },
    ANS_COMMON(IMS_CMD_PPA),

    CX_REQ_COMMON(IMS_CMD_UDR),
    { IMS_CMD_UDR, IMS_AVP_DESTINATION_HOST, 'O' },
    { IMS_CMD_UDR, IMS_AVP_USER_IDENTITY, 'R' },
    { IMS_CMD_UDR, IMS_AVP_WILDCARDED_PUBLIC_IDENTITY, 'O' },
    { IMS_CMD_UDR, IMS_AVP_WILDCARDED_IMPU, 'O' },
    { IMS_CMD_UDR, IMS_AVP_SERVER_NAME, 'O' },
    { IMS_CMD_UDR, IMS_AVP_DATA_REFERENCE, 'M' },
    { IMS_CMD_UDR, IMS_AVP_REQUESTED_DOMAIN, 'O' },
    { IMS_CMD_UDR, IMS_AVP_CURRENT_LOCATION, 'O' },
    { IMS_CMD_UDR, IMS_AVP_SESSION_PRIORITY, 'O' },
    { IMS_CMD_UDR, IMS_AVP_USER_NAME, 'O' },
    ANS_COMMON(IMS_CMD_UDA),

    CX_REQ_COMMON(IMS_CMD_PUR),
    { IMS_CMD_PUR, IMS_AVP_DESTINATION_HOST, 'O' },
    { IMS_CMD_PUR, IMS_AVP_USER_IDENTITY, 'R' },
    { IMS_CMD_PUR, IMS_AVP_WILDCARDED_PUBLIC_IDENTITY, 'O' },
    { IMS_CMD_PUR, IMS_AVP_WILDCARDED_IMPU, 'O' },
    { IMS_CMD_PUR, IMS_AVP_USER_NAME, 'O' },
    { IMS_CMD_PUR, IMS_AVP_DATA_REFERENCE, 'M' },
    { IMS_CMD_PUR, IMS_AVP_SH_USER_DATA, 'R' },
    ANS_COMMON(IMS_CMD_PUA),

    CX_REQ_COMMON(IMS_CMD_SNR),
    { IMS_CMD_SNR, IMS_AVP_DESTINATION_HOST, 'O' },
    { IMS_CMD_SNR, IMS_AVP_USER_IDENTITY, 'R' },
    { IMS_CMD_SNR, IMS_AVP_WILDCARDED_PUBLIC_IDENTITY, 'O' },
    { IMS_CMD_SNR, IMS_AVP_WILDCARDED_IMPU, 'O' },
    { IMS_CMD_SNR, IMS_AVP_SEND_DATA_INDICATION, 'O' },
    { IMS_CMD_SNR, IMS_AVP_SERVER_NAME, 'O' },
    { IMS_CMD_SNR, IMS_AVP_SUBS_REQ_TYPE, 'R' },
    { IMS_CMD_SNR, IMS_AVP_DATA_REFERENCE, 'M' },
    { IMS_CMD_SNR, IMS_AVP_EXPIRY_TIME, 'O' },
    { IMS_CMD_SNR, IMS_AVP_USER_NAME, 'O' },
    ANS_COMMON(IMS_CMD_SNA),

    CX_REQ_COMMON(IMS_CMD_PNR),
    { IMS_CMD_PNR, IMS_AVP_DESTINATION_HOST, 'R' },
    { IMS_CMD_PNR, IMS_AVP_USER_IDENTITY, 'R' },
    { IMS_CMD_PNR, IMS_AVP_WILDCARDED_PUBLIC_IDENTITY, 'O' },
    { IMS_CMD_PNR, IMS_AVP_WILDCARDED_IMPU, 'O' },
    { IMS_CMD_PNR, IMS_AVP_USER_NAME, 'O' },
    { IMS_CMD_PNR, IMS_AVP_SH_USER_DATA, 'R' },
    ANS_COMMON(IMS_CMD_PNA),
};

static struct {
    struct dict_object *vendor;
    struct dict_object *app[IMS_APP_COUNT];
    struct dict_object *cmd[IMS_CMD_COUNT];
    struct dict_object *avp[IMS_AVP_COUNT];
} g_dict;

static struct dictionary *dict(void)
{
    return fd_g_config->cnf_dict;
}

static struct dict_object *type_object(enum dtype t)
{
    static const char *names[] = { NULL, "UTF8String", "DiameterIdentity", "DiameterURI",
                                   "Time", NULL };
    struct dict_object *obj = NULL;
    if (names[t])
        fd_dict_search(dict(), DICT_TYPE, TYPE_BY_NAME, names[t], &obj, ENOENT);
    return obj;
}

static int resolve_avp(enum ims_avp i)
{
    const struct avp_def *d = &avp_defs[i];
    struct dict_avp_request req = { .avp_vendor = d->vendor, .avp_code = d->code };
    struct dict_object *obj = NULL;
    if (fd_dict_search(dict(), DICT_AVP, AVP_BY_CODE_AND_VENDOR, &req, &obj, ENOENT) == 0) {
        g_dict.avp[i] = obj;
        return 0;
    }
    struct dict_avp_data data = {
        .avp_code = d->code,
        .avp_vendor = d->vendor,
        .avp_name = (char *)d->name,
        .avp_flag_mask = AVP_FLAG_VENDOR | (d->no_m ? AVP_FLAG_MANDATORY : 0),
        .avp_flag_val = d->vendor ? AVP_FLAG_VENDOR : 0,
        .avp_basetype = d->base,
    };
    int rc = fd_dict_new(dict(), DICT_AVP, &data, type_object(d->dtype), &obj);
    if (rc) {
        ims_err("diameter dictionary: cannot define AVP %s (%u, vendor %u): %s", d->name,
                d->code, d->vendor, strerror(rc));
        return -rc;
    }
    ims_debug("diameter dictionary: defined AVP %s (%u, vendor %u)", d->name, d->code,
              d->vendor);
    g_dict.avp[i] = obj;
    return 0;
}

static int resolve_app(enum ims_app i)
{
    const struct app_def *d = &app_defs[i];
    application_id_t id = d->id;
    struct dict_object *obj = NULL;
    if (fd_dict_search(dict(), DICT_APPLICATION, APPLICATION_BY_ID, &id, &obj, ENOENT) != 0) {
        struct dict_application_data data = { d->id, (char *)d->name };
        int rc = fd_dict_new(dict(), DICT_APPLICATION, &data,
                             d->vendor_specific ? g_dict.vendor : NULL, &obj);
        if (rc) {
            ims_err("diameter dictionary: cannot define application %s (%u): %s", d->name,
                    d->id, strerror(rc));
            return -rc;
        }
    }
    g_dict.app[i] = obj;
    return 0;
}

static int resolve_cmd(enum ims_cmd i)
{
    const struct cmd_def *d = &cmd_defs[i];
    struct dict_object *obj = NULL;
    if (fd_dict_search(dict(), DICT_COMMAND, CMD_BY_NAME, d->name, &obj, ENOENT) == 0) {
        g_dict.cmd[i] = obj;
        return 0;
    }
    if (!d->ours) {
        ims_err("diameter dictionary: command %s is missing (is the dictionary extension "
                "for %s loaded?)", d->name, ims_app_name(d->app));
        return -ENOENT;
    }
    struct dict_cmd_data data = {
        .cmd_code = d->code,
        .cmd_name = (char *)d->name,
        .cmd_flag_mask = CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE,
        .cmd_flag_val = (d->request ? CMD_FLAG_REQUEST : 0) | CMD_FLAG_PROXIABLE,
    };
    if (d->request)
        data.cmd_flag_mask |= CMD_FLAG_ERROR;
    int rc = fd_dict_new(dict(), DICT_COMMAND, &data, g_dict.app[d->app], &obj);
    if (rc) {
        ims_err("diameter dictionary: cannot define command %s: %s", d->name, strerror(rc));
        return -rc;
    }
    g_dict.cmd[i] = obj;
    return 0;
}

static int add_rule(const struct rule_def *r, unsigned order)
{
    struct dict_rule_data data = { .rule_avp = g_dict.avp[r->avp], .rule_order = order };
    switch (r->kind) {
    case 'H':
        data.rule_position = RULE_FIXED_HEAD;
        data.rule_min = 1;
        data.rule_max = 1;
        break;
    case 'R':
        data.rule_position = RULE_REQUIRED;
        data.rule_min = 1;
        data.rule_max = 1;
        break;
    case 'M':
        data.rule_position = RULE_REQUIRED;
        data.rule_min = 1;
        data.rule_max = -1;
        break;
    default:
        data.rule_position = RULE_OPTIONAL;
        data.rule_min = 0;
        data.rule_max = 1;
        break;
    }
    int rc = fd_dict_new(dict(), DICT_RULE, &data, g_dict.cmd[r->cmd], NULL);
    if (rc && rc != EEXIST) {
        ims_err("diameter dictionary: rule %s in %s: %s", avp_defs[r->avp].name,
                cmd_defs[r->cmd].name, strerror(rc));
        return -rc;
    }
    return 0;
}

/*
 * RFC 7683 7.3 and 7.4: OC-Supported-Features ::= [ OC-Feature-Vector ] *[ AVP ];
 * OC-OLR ::= < OC-Sequence-Number > < OC-Report-Type > [ OC-Reduction-Percentage ]
 * [ OC-Validity-Duration ] *[ AVP ]. Every command of the four applications may carry
 * [ OC-Supported-Features ], every answer [ OC-OLR ] (RFC 7683 6.1, 6.2).
 */
static int add_avp_rule(enum ims_avp parent, enum ims_avp child, bool required,
                        unsigned order)
{
    struct dict_rule_data data = {
        .rule_avp = g_dict.avp[child], .rule_order = order,
        .rule_position = required ? RULE_FIXED_HEAD : RULE_OPTIONAL,
        .rule_min = required ? 1 : 0, .rule_max = 1,
    };
    struct dict_object *to = parent < IMS_AVP_COUNT ? g_dict.avp[parent] : NULL;
    int rc = fd_dict_new(dict(), DICT_RULE, &data, to, NULL);
    if (rc && rc != EEXIST) {
        ims_err("diameter dictionary: rule %s in %s: %s", avp_defs[child].name,
                avp_defs[parent].name, strerror(rc));
        return -rc;
    }
    return 0;
}

static int add_doic_rules(void)
{
    if (add_avp_rule(IMS_AVP_OC_SUPPORTED_FEATURES, IMS_AVP_OC_FEATURE_VECTOR, false, 0) ||
        add_avp_rule(IMS_AVP_OC_OLR, IMS_AVP_OC_SEQUENCE_NUMBER, true, 1) ||
        add_avp_rule(IMS_AVP_OC_OLR, IMS_AVP_OC_REPORT_TYPE, true, 2) ||
        add_avp_rule(IMS_AVP_OC_OLR, IMS_AVP_OC_REDUCTION_PERCENTAGE, false, 0) ||
        add_avp_rule(IMS_AVP_OC_OLR, IMS_AVP_OC_VALIDITY_DURATION, false, 0))
        return -EINVAL;
    for (int i = 0; i < IMS_CMD_COUNT; i++) {
        struct rule_def r = { (enum ims_cmd)i, IMS_AVP_OC_SUPPORTED_FEATURES, 'O' };
        if (add_rule(&r, 0) != 0)
            return -EINVAL;
        r.avp = IMS_AVP_OC_OLR;
        if (!cmd_defs[i].request && add_rule(&r, 0) != 0)
            return -EINVAL;
    }
    return 0;
}

/* The vendors of the ETSI and CableLabs AVPs, defined when no extension did */
static int ensure_vendor(vendor_id_t id, const char *name)
{
    struct dict_object *obj = NULL;
    if (fd_dict_search(dict(), DICT_VENDOR, VENDOR_BY_ID, &id, &obj, ENOENT) == 0)
        return 0;
    struct dict_vendor_data data = { id, (char *)name };
    int rc = fd_dict_new(dict(), DICT_VENDOR, &data, NULL, NULL);
    if (rc && rc != EEXIST) {
        ims_err("diameter dictionary: cannot define vendor %s (%u): %s", name, id,
                strerror(rc));
        return -rc;
    }
    return 0;
}

int ims_dict_init(void)
{
    vendor_id_t v = IMS_VENDOR_3GPP;
    if (fd_dict_search(dict(), DICT_VENDOR, VENDOR_BY_ID, &v, &g_dict.vendor, ENOENT) != 0) {
        ims_err("diameter dictionary: vendor 3GPP (10415) not found; dict_dcca_3gpp not loaded?");
        return -ENOENT;
    }
    if (ensure_vendor(IMS_VENDOR_ETSI, "ETSI") || ensure_vendor(IMS_VENDOR_CABLELABS, "CableLabs"))
        return -EINVAL;
    for (int i = 0; i < IMS_AVP_COUNT; i++)
        if (resolve_avp(i) != 0)
            return -EINVAL;
    for (int i = 0; i < IMS_APP_COUNT; i++)
        if (resolve_app(i) != 0)
            return -EINVAL;
    bool had_cx = false;
    struct dict_object *probe = NULL;
    had_cx = fd_dict_search(dict(), DICT_COMMAND, CMD_BY_NAME, cmd_defs[IMS_CMD_UAR].name,
                            &probe, ENOENT) == 0;
    for (int i = 0; i < IMS_CMD_COUNT; i++)
        if (resolve_cmd(i) != 0)
            return -EINVAL;
    if (!had_cx) {
        unsigned order = 1;
        for (size_t i = 0; i < sizeof(rule_defs) / sizeof(rule_defs[0]); i++) {
            order = (i && rule_defs[i].cmd == rule_defs[i - 1].cmd) ? order + 1 : 1;
            if (add_rule(&rule_defs[i], rule_defs[i].kind == 'H' ? 1 : order) != 0)
                return -EINVAL;
        }
    }
    return add_doic_rules();
}

struct dict_object *ims_dict_app(enum ims_app app)
{
    return g_dict.app[app];
}

struct dict_object *ims_dict_cmd(enum ims_cmd cmd)
{
    return g_dict.cmd[cmd];
}

struct dict_object *ims_dict_avp(enum ims_avp avp)
{
    return g_dict.avp[avp];
}

struct dict_object *ims_dict_vendor_3gpp(void)
{
    return g_dict.vendor;
}

uint32_t ims_app_id(enum ims_app app)
{
    return app_defs[app].id;
}

const char *ims_app_name(enum ims_app app)
{
    return (unsigned)app < IMS_APP_COUNT ? app_defs[app].abbrev : "?";
}

bool ims_app_is_vendor_specific(enum ims_app app)
{
    return app_defs[app].vendor_specific;
}

enum ims_app ims_cmd_app(enum ims_cmd cmd)
{
    return cmd_defs[cmd].app;
}

const char *ims_cmd_abbrev(enum ims_cmd cmd)
{
    return (unsigned)cmd < IMS_CMD_COUNT ? cmd_defs[cmd].abbrev : "?";
}

uint32_t ims_cmd_code(enum ims_cmd cmd)
{
    return cmd_defs[cmd].code;
}

bool ims_cmd_is_request(enum ims_cmd cmd)
{
    return cmd_defs[cmd].request;
}

const char *ims_avp_name(enum ims_avp avp)
{
    return (unsigned)avp < IMS_AVP_COUNT ? avp_defs[avp].name : "?";
}

enum ims_cmd ims_cmd_lookup(uint32_t app_id, uint32_t code, bool request)
{
    for (int i = 0; i < IMS_CMD_COUNT; i++)
        if (cmd_defs[i].code == code && cmd_defs[i].request == request &&
            app_defs[cmd_defs[i].app].id == app_id)
            return (enum ims_cmd)i;
    return IMS_CMD_COUNT;
}
