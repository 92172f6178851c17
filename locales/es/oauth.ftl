# Lo que una persona lee durante la solicitud de inicio de sesión de una aplicación: el
# consentimiento, lo que entrega cada permiso, una solicitud que rechazamos y el cierre de sesión
# pedido por una aplicación.

## Consentimiento

consent-title = Permitir el acceso
consent-heading = ¿Permitir que { $client } use su cuenta de { $site }?
consent-signed-in-as = Inició sesión como { $email }.
consent-will-receive = { $client } recibirá:
consent-remember = Recordaremos su respuesta, así que no volveremos a preguntarle por la misma información. Nunca incluye su contraseña.
consent-allow = Permitir
consent-deny = No permitir
consent-choose = Elija Permitir o No permitir.

## Datos verificados que pide una aplicación (de la verificación de identidad de la persona)

consent-verified-heading = De su identidad verificada:
consent-verified-name = Su nombre legal, tal como se comprobó con su identificación
consent-verified-birthdate = Su fecha de nacimiento, tal como se comprobó con su identificación
consent-verified-address = Su dirección, tal como se verificó
consent-verified-ssn-heading = Su número de Seguro Social
consent-verified-ssn = { $client } también recibirá su número de Seguro Social completo. Permítalo solo si confía en { $client } para tenerlo.

## Lo que entrega cada permiso, en palabras sencillas

scope-openid = Un identificador fijo de su cuenta, para que la aplicación lo reconozca
scope-profile = Su nombre
scope-email = Su dirección de correo electrónico
scope-phone = Su número de teléfono
scope-offline-access = Acceso a esta información cuando usted no esté usando la aplicación, hasta que lo revoque

## Una solicitud de inicio de sesión que no continuamos (error de la aplicación, no de la persona)

authorize-error-title = Solicitud de inicio de sesión no válida
authorize-error-heading = No podemos continuar con este inicio de sesión
authorize-request-uri-unknown = La aplicación envió un request_uri que no reconocemos.
authorize-request-uri-expired = Esta solicitud de inicio de sesión venció o ya se usó (request_uri). Vuelva a la aplicación y empiece de nuevo.
authorize-request-uri-other-app = El request_uri pertenece a otra aplicación.
authorize-client-id-missing = La aplicación no dijo quién es (falta el client_id).
authorize-client-unknown = La aplicación que lo envió aquí no está registrada con nosotros (client_id desconocido).
authorize-repeated = La solicitud de inicio de sesión repite client_id o redirect_uri.
authorize-redirect-uri-missing = La aplicación no dijo adónde devolverlo (falta el redirect_uri).
authorize-redirect-uri-mismatch = La aplicación pidió devolverlo a una dirección que no registró (redirect_uri no coincide). Nos detuvimos aquí para protegerlo.
authorize-expired = Esta solicitud de inicio de sesión venció o ya se completó. Vuelva a la aplicación y empiece de nuevo.

## Una aplicación pide cerrar la sesión de la persona

end-session-error-title = Solicitud de cierre de sesión no válida
end-session-error-heading = No podemos seguir esta solicitud de cierre de sesión
end-session-hint-unverified = La aplicación envió una solicitud de cierre de sesión que no pudimos verificar (id_token_hint).
end-session-two-apps = La solicitud de cierre de sesión nombra dos aplicaciones diferentes.
end-session-no-client = La aplicación no dijo quién es, así que no lo enviaremos de vuelta a ella.
end-session-redirect-mismatch = La aplicación pidió enviarlo a una dirección que no registró (post_logout_redirect_uri). Nos detuvimos aquí para protegerlo.
end-session-done-title = Sesión cerrada
end-session-done-heading = Cerró sesión
end-session-done-body = Cerró sesión en { $site } en este navegador. Ya puede cerrar esta ventana.
end-session-ask-title = ¿Cerrar sesión?
end-session-ask-heading = ¿Cerrar sesión en { $site }?
end-session-asked-by = { $client } pidió cerrar su sesión en { $site } en este navegador.
end-session-asked-by-unknown = Una aplicación pidió cerrar su sesión en { $site } en este navegador.
end-session-confirm = Cerrar sesión
end-session-stay = Mantener la sesión iniciada
