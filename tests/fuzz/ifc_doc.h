/*
 * ifc_doc.h - an IMSSubscription of alice with an iFC of every SPT kind (the seed of the
 * iFC harnesses and the fixed set the SIP-request harness matches against)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef IMS_FUZZ_IFC_DOC_H
#define IMS_FUZZ_IFC_DOC_H

#define IFC_ALICE "sip:alice@ims.mnc001.mcc001.3gppnetwork.org"

#define IFC_SPT(neg, group, cond)                                                         \
    "<SPT><ConditionNegated>" #neg "</ConditionNegated><Group>" #group "</Group>" cond     \
    "</SPT>"
#define IFC_AS(name, dh, ext)                                                             \
    "<ApplicationServer><ServerName>" name "</ServerName><DefaultHandling>" #dh            \
    "</DefaultHandling><ServiceInfo>info</ServiceInfo>" ext "</ApplicationServer>"

static const char ifc_doc[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<IMSSubscription xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
    "<PrivateID>alice@ims.mnc001.mcc001.3gppnetwork.org</PrivateID><ServiceProfile>"
    "<PublicIdentity><Identity>" IFC_ALICE "</Identity><Extension><IdentityType>0"
    "</IdentityType></Extension></PublicIdentity>"
    "<PublicIdentity><Identity>tel:+1-555-0100001</Identity></PublicIdentity>"
    "<PublicIdentity><Identity>sip:!.*!@psi.example.org</Identity><Extension>"
    "<IdentityType>2</IdentityType><WildcardedPSI>sip:!.*!@psi.example.org</WildcardedPSI>"
    "</Extension></PublicIdentity>"
    /* 0: CNF, SDP audio or video, and not an unregistered case */
    "<InitialFilterCriteria><Priority>0</Priority><TriggerPoint><ConditionTypeCNF>1"
    "</ConditionTypeCNF>"
    IFC_SPT(0, 0, "<Method>INVITE</Method>")
    IFC_SPT(0, 1, "<SessionDescription><Line>m</Line><Content>^(audio|video) </Content>"
                  "</SessionDescription>")
    IFC_SPT(0, 1, "<SessionDescription><Line>c</Line></SessionDescription>")
    IFC_SPT(1, 2, "<SessionCase>2</SessionCase>")
    "</TriggerPoint>" IFC_AS("sip:mmtel.example.org", 0, "")
    "<ProfilePartIndicator>0</ProfilePartIndicator></InitialFilterCriteria>"
    /* 1: DNF, headers, Request-URI, registration types */
    "<InitialFilterCriteria><Priority>1</Priority><TriggerPoint><ConditionTypeCNF>0"
    "</ConditionTypeCNF>"
    IFC_SPT(0, 0, "<SIPHeader><Header>Accept-Contact</Header><Content>\\+g\\.3gpp\\.icsi-ref"
                  "</Content></SIPHeader>")
    IFC_SPT(0, 0, "<SIPHeader><Header>f</Header><Content>alice</Content></SIPHeader>")
    IFC_SPT(0, 1, "<RequestURI>^sip:.*@ims\\.mnc001\\.mcc001\\.3gppnetwork\\.org</RequestURI>")
    IFC_SPT(0, 1, "<SIPHeader><Header>P-Asserted-Identity</Header></SIPHeader>")
    "<SPT><ConditionNegated>0</ConditionNegated><Group>2</Group><Method>REGISTER</Method>"
    "<Extension><RegistrationType>0</RegistrationType><RegistrationType>2</RegistrationType>"
    "</Extension></SPT>"
    IFC_SPT(0, 3, "<SIPHeader><Header>Event</Header><Content>^reg</Content></SIPHeader>")
    IFC_SPT(0, 3, "<SessionCase>0</SessionCase>")
    "</TriggerPoint>" IFC_AS("sip:as.example.org", 1, "<Extension><IncludeRegisterRequest/>"
                             "<IncludeRegisterResponse/></Extension>")
    "</InitialFilterCriteria>"
    /* 2: no trigger point */
    "<InitialFilterCriteria><Priority>2</Priority>" IFC_AS("sip:all.example.org", 0, "")
    "</InitialFilterCriteria>"
    "<Extension><SharedIFCSetID>1</SharedIFCSetID><SharedIFCSetID>7</SharedIFCSetID>"
    "</Extension></ServiceProfile></IMSSubscription>";

static const char ifc_shared_doc[] =
    "<SharedIFCSets><SharedIFCSet><SetID>1</SetID>"
    "<InitialFilterCriteria><Priority>5</Priority><TriggerPoint><ConditionTypeCNF>0"
    "</ConditionTypeCNF>"
    IFC_SPT(0, 0, "<Method>MESSAGE</Method>")
    IFC_SPT(0, 0, "<SessionDescription><Line>a</Line><Content>sendrecv</Content>"
                  "</SessionDescription>")
    "</TriggerPoint>" IFC_AS("sip:shared.example.org", 0, "") "</InitialFilterCriteria>"
    "</SharedIFCSet></SharedIFCSets>";

#endif
